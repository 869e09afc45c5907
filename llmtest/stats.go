package llmtest

import (
	"crypto/sha256"
	"net/http"
	"sync"
	"time"
)

// Stats are the server's counters since it started or since ResetStats.
type Stats struct {
	// Arrivals counts requests received (every attempt).
	Arrivals int64
	// RateLimited counts 429 responses served, whatever their cause
	// (quota, fault or outage).
	RateLimited int64
	// HerdArrivals counts arrivals for an API key while a retry-after the
	// server announced to that key had not yet passed: the moment of
	// retry-after-ms when it was sent, else of retry-after.
	HerdArrivals int64
	// Resets counts connections reset by FaultReset.
	Resets int64
	// Truncated counts responses cut off by FaultTruncate.
	Truncated int64
	// ByStatus counts responses by HTTP status (a truncated response
	// counts as its 200; a reset counts nowhere).
	ByStatus map[int]int64
	// PeakConcurrency is the most requests in flight at once; InFlight
	// is how many are in flight now.
	PeakConcurrency, InFlight int64
	// Admitted counts requests the quota admitted.
	Admitted int64
	// InputTokens, CacheReadTokens, CacheCreationTokens and OutputTokens
	// sum the usage reported in successful (200) responses, including
	// completed streams: input_tokens (the uncached input; all of it for
	// OpenAI and for requests without cache_control),
	// cache_read_input_tokens, cache_creation_input_tokens and
	// output_tokens. Their sum is what the work needed, so a test can
	// compare it with what the quota allowed.
	InputTokens, OutputTokens            int64
	CacheReadTokens, CacheCreationTokens int64
	// Completed counts successful responses sent in full.
	Completed int64
	// Forgotten counts arrivals dropped from Requests (Config.MaxRecorded).
	Forgotten int64
}

// Request records one arrival (one attempt).
type Request struct {
	Time   time.Time
	Method string
	Path   string
	Model  string
	Stream bool
	// BodySHA256 is the hash of the request body as received, so a test
	// can prove a retried body was replayed byte for byte.
	BodySHA256 [32]byte
	// RetryCount is the X-Stainless-Retry-Count header the SDKs send.
	RetryCount string
	// KeyFingerprint identifies the API key without revealing it: the
	// first 8 bytes of its SHA-256, hex-encoded; "" when none was sent.
	KeyFingerprint string
	// Status is the response status; 0 for a reset connection or while
	// the request is in flight.
	Status int
}

// recorder keeps Stats and Requests. mu guards every field.
type recorder struct {
	mu        sync.Mutex
	st        Stats
	max       int // Config.MaxRecorded, resolved
	reqs      []*Request
	announced map[string]time.Time // key fingerprint → latest retry-after moment
}

// defaultMaxRecorded is Config.MaxRecorded's default.
const defaultMaxRecorded = 100_000

func newRecorder(max int) *recorder {
	switch {
	case max == 0:
		max = defaultMaxRecorded
	case max < 0:
		max = 0
	}
	return &recorder{st: Stats{ByStatus: map[int]int64{}}, max: max, announced: map[string]time.Time{}}
}

// arrive records an arrival and returns its record, to be completed by
// status.
func (rc *recorder) arrive(now time.Time, r *http.Request, body []byte, c call) *Request {
	req := &Request{
		Time:           now,
		Method:         r.Method,
		Path:           r.URL.Path,
		Model:          c.Model,
		Stream:         c.Stream,
		BodySHA256:     sha256.Sum256(body),
		RetryCount:     r.Header.Get("X-Stainless-Retry-Count"),
		KeyFingerprint: keyFingerprint(r.Header),
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.st.Arrivals++
	if until, ok := rc.announced[req.KeyFingerprint]; ok && now.Before(until) {
		rc.st.HerdArrivals++
	}
	rc.st.InFlight++
	rc.st.PeakConcurrency = max(rc.st.PeakConcurrency, rc.st.InFlight)
	if rc.max > 0 && len(rc.reqs) >= rc.max {
		keep := rc.max / 2
		n := copy(rc.reqs, rc.reqs[len(rc.reqs)-keep:])
		clear(rc.reqs[n:])
		rc.st.Forgotten += int64(len(rc.reqs) - n)
		rc.reqs = rc.reqs[:n]
	}
	rc.reqs = append(rc.reqs, req)
	return req
}

// announce records that key was told not to come back before until.
func (rc *recorder) announce(key string, until time.Time) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if until.After(rc.announced[key]) {
		rc.announced[key] = until
	}
}

// status records the response status of req; 0 means a reset connection.
func (rc *recorder) status(req *Request, code int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	req.Status = code
	if code == 0 {
		rc.st.Resets++
		return
	}
	rc.st.ByStatus[code]++
	if code == http.StatusTooManyRequests {
		rc.st.RateLimited++
	}
}

func (rc *recorder) add(f func(s *Stats)) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	f(&rc.st)
}

func (rc *recorder) leave() { rc.add(func(s *Stats) { s.InFlight-- }) }

func (rc *recorder) snapshot() Stats {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	s := rc.st
	s.ByStatus = make(map[int]int64, len(rc.st.ByStatus))
	for k, v := range rc.st.ByStatus {
		s.ByStatus[k] = v
	}
	return s
}

func (rc *recorder) requests() []Request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make([]Request, len(rc.reqs))
	for i, r := range rc.reqs {
		out[i] = *r
	}
	return out
}

// reset zeroes the counters and forgets the requests. In-flight requests
// stay counted in InFlight; announced retry-after moments are server state
// and are kept.
func (rc *recorder) reset() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.st = Stats{ByStatus: map[int]int64{}, InFlight: rc.st.InFlight, PeakConcurrency: rc.st.InFlight}
	rc.reqs = nil
}
