package llmtest

import (
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// FaultKind is what a Fault does to a request.
type FaultKind int

// Fault kinds.
const (
	// FaultStatus answers with Fault.Status and the provider's error JSON
	// body, without consuming quota.
	FaultStatus FaultKind = iota
	// FaultReset closes the connection (TCP RST, SO_LINGER 0) before any
	// response is written.
	FaultReset
	// FaultLatency adds Fault.Delay before the response headers; the
	// request is then served normally.
	FaultLatency
	// FaultSlowStream waits Fault.Delay between SSE events (for a JSON
	// response: between the headers and the body).
	FaultSlowStream
	// FaultTruncate sends a 200 with part of the body or stream, then
	// closes the connection.
	FaultTruncate
	// FaultStreamError answers HTTP 200 and makes the first SSE event an
	// error (Anthropic `event: error`; OpenAI a `data:` chunk holding an
	// "error" object) of type Fault.ErrorType, default overloaded_error.
	// A non-streaming request gets the matching status instead (529 for
	// overloaded_error, 429 for rate_limit_error, else 500).
	FaultStreamError
)

// String returns the name of k.
func (k FaultKind) String() string {
	switch k {
	case FaultStatus:
		return "status"
	case FaultReset:
		return "reset"
	case FaultLatency:
		return "latency"
	case FaultSlowStream:
		return "slow_stream"
	case FaultTruncate:
		return "truncate"
	case FaultStreamError:
		return "stream_error"
	}
	return "unknown"
}

// Fault is one injected misbehaviour. Scripted faults are queued with
// Server.Inject; probabilistic ones are listed in Config.Faults.
type Fault struct {
	Kind FaultKind
	// Status is the HTTP status of a FaultStatus (429, 500, 502, 503,
	// 529, 400, ...), sent with the provider's error JSON body.
	Status int
	// ShouldRetry is the x-should-retry header to send ("true" or
	// "false"); "" leaves it out.
	ShouldRetry string
	// RetryAfter is the raw retry-after header to send; "" leaves it out.
	RetryAfter string
	// RetryAfterMs is the raw retry-after-ms header to send; "" leaves it
	// out.
	RetryAfterMs string
	// ErrorType overrides error.type of the body (for example
	// "rate_limit_error"); "" uses the provider's type for the status.
	ErrorType string
	// ErrorCode is sent as error.details.error_code (Anthropic) or
	// error.code (OpenAI), for example "insufficient_quota".
	ErrorCode string
	// Delay is the added latency of FaultLatency and the per-event delay
	// of FaultSlowStream.
	Delay time.Duration
	// Probability is the chance per request of a fault in Config.Faults.
	Probability float64
	// Count is how many matching requests an injected fault applies to;
	// zero means 1.
	Count int
	// Path restricts the fault to requests whose URL path ends with it;
	// "" matches every request.
	Path string
}

func (f Fault) matches(path string) bool {
	return f.Path == "" || strings.HasSuffix(path, f.Path)
}

// Outage is a window, measured from the server's start, during which every
// request is answered with Status (default 529) and the provider's error
// body.
type Outage struct {
	Start, End time.Duration
	Status     int
}

// faults picks the fault of each request: scripted ones first (FIFO), then
// the seeded probabilistic ones. mu guards queue and rng.
type faults struct {
	mu     sync.Mutex
	queue  []Fault
	rng    *rand.Rand
	random []Fault
}

func newFaults(seed int64, random []Fault) *faults {
	return &faults{
		rng:    rand.New(rand.NewPCG(uint64(seed), 0x6c6c6d74657374)), // "llmtest"
		random: append([]Fault(nil), random...),
	}
}

func (fs *faults) inject(f ...Fault) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, x := range f {
		if x.Count <= 0 {
			x.Count = 1
		}
		fs.queue = append(fs.queue, x)
	}
}

// pick returns the fault for a request to path, if any. Every call draws
// once per probabilistic fault, so the random sequence depends only on the
// number of requests, not on which faults hit.
func (fs *faults) pick(path string) (Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var (
		hit   Fault
		found bool
	)
	for _, f := range fs.random {
		p := fs.rng.Float64()
		if !found && f.Probability > 0 && p < f.Probability && f.matches(path) {
			hit, found = f, true
		}
	}
	for i := range fs.queue {
		if !fs.queue[i].matches(path) {
			continue
		}
		f := fs.queue[i]
		fs.queue[i].Count--
		if fs.queue[i].Count <= 0 {
			fs.queue = append(fs.queue[:i], fs.queue[i+1:]...)
		}
		return f, true // a scripted fault wins over a random one
	}
	return hit, found
}

// outages tracks the configured and started outage windows. mu guards
// extra.
type outages struct {
	start time.Time
	fixed []Outage
	mu    sync.Mutex
	extra []Outage
}

// status returns the status of the outage covering now, if any.
func (o *outages) status(now time.Time) (int, bool) {
	at := now.Sub(o.start)
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, list := range [][]Outage{o.fixed, o.extra} {
		for _, w := range list {
			if at >= w.Start && at < w.End {
				if w.Status == 0 {
					return 529, true
				}
				return w.Status, true
			}
		}
	}
	return 0, false
}

func (o *outages) add(now time.Time, d time.Duration, status int) {
	at := now.Sub(o.start)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.extra = append(o.extra, Outage{Start: at, End: at + d, Status: status})
}
