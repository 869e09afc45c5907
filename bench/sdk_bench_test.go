package bench

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
)

// clientSetup is one way of building an anthropic-sdk-go client, as a
// user would: the SDK alone, the SDK over a peer, or the SDK over sluice.
type clientSetup struct {
	name string
	// opts returns the client options over base; nil means pending.
	opts func(base http.RoundTripper, sc scenario) []option.RequestOption
}

// scenario is what a set-up may be told about the fake it talks to.
type scenario struct {
	window time.Duration // the fake's compressed quota window
	rps    uint          // requests per second of the quota (failsafe needs it)
	// outage asks sluice for its breaker settings compressed like the
	// outage, and log receives its breaker's state changes.
	outage bool
	log    *breakerLog
	// polly asks sluice for its old breaker trip rule, Polly's
	// (transport.PollyBreakerSettings), to compare with the default.
	polly bool
	// closers collects what the set-up built that must be closed at the
	// end (sluice's *transport.Transport and its limiter).
	closers *[]io.Closer
}

// closeAll closes what a set-up registered in sc.
func (sc scenario) closeAll() {
	if sc.closers == nil {
		return
	}
	for _, c := range *sc.closers {
		_ = c.Close()
	}
}

func clientSetups() []clientSetup {
	client := func(rt http.RoundTripper) option.RequestOption {
		return option.WithHTTPClient(&http.Client{Transport: rt})
	}
	setups := []clientSetup{
		{"sdk-default", func(base http.RoundTripper, _ scenario) []option.RequestOption {
			return []option.RequestOption{client(base)}
		}},
		{"sdk-retries4", func(base http.RoundTripper, _ scenario) []option.RequestOption {
			return []option.RequestOption{client(base), option.WithMaxRetries(4)}
		}},
		{"retryablehttp", func(base http.RoundTripper, _ scenario) []option.RequestOption {
			return []option.RequestOption{client(retryableHTTP(base)), option.WithMaxRetries(0)}
		}},
		{"failsafehttp", func(base http.RoundTripper, sc scenario) []option.RequestOption {
			return []option.RequestOption{client(failsafeHTTP(base, max(sc.rps, 1))), option.WithMaxRetries(0)}
		}},
		{"sluice", nil},
	}
	if goodputStack != nil {
		setups[len(setups)-1].opts = func(base http.RoundTripper, sc scenario) []option.RequestOption {
			return []option.RequestOption{client(goodputStack(base, sc)), option.WithMaxRetries(0)}
		}
	}
	return setups
}

// breakerSetups are clientSetups plus sluice with its former trip rule
// (Polly's), for the scenarios that measure the breaker: chaos and outage.
func breakerSetups() []clientSetup {
	setups := clientSetups()
	if goodputStack != nil {
		setups = append(setups, clientSetup{"sluice-polly", func(base http.RoundTripper, sc scenario) []option.RequestOption {
			sc.polly = true
			return []option.RequestOption{option.WithHTTPClient(&http.Client{Transport: goodputStack(base, sc)}), option.WithMaxRetries(0)}
		}})
	}
	return setups
}

// newClient builds the set-up's client of url over a fresh base transport
// and returns it with the function that closes its idle connections and
// the record of the moments requests left for the server.
func newClient(s clientSetup, url string, sc scenario) (anthropic.Client, func(), *sendLog) {
	base := newBase()
	sends := &sendLog{next: base}
	sc.closers = new([]io.Closer)
	opts := append([]option.RequestOption{
		option.WithBaseURL(url), option.WithAPIKey("sk-ant-bench-not-a-real-key"),
	}, s.opts(sends, sc)...)
	return anthropic.NewClient(opts...), func() { sc.closeAll(); base.CloseIdleConnections() }, sends
}

// sendLog is the innermost RoundTripper of every set-up: it notes when
// each request is sent to the server.
type sendLog struct {
	next http.RoundTripper
	mu   sync.Mutex
	at   []time.Time
}

func (l *sendLog) RoundTrip(r *http.Request) (*http.Response, error) {
	l.mu.Lock()
	l.at = append(l.at, time.Now())
	l.mu.Unlock()
	return l.next.RoundTrip(r)
}

func (l *sendLog) times() []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.at)
}

// job is one call of a workload.
type job struct {
	prompt    string
	maxTokens int64
	stream    bool
}

// inputTokens is the job's input as the fake counts it.
func (j job) inputTokens() int { return (len(j.prompt) + 3) / 4 }

// do runs the job through c and reports whether it succeeded.
func (j job) do(ctx context.Context, c anthropic.Client) error {
	p := anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: j.maxTokens,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(j.prompt))},
	}
	if !j.stream {
		_, err := c.Messages.New(ctx, p)
		return err
	}
	s := c.Messages.NewStreaming(ctx, p)
	defer s.Close()
	var msg anthropic.Message
	for s.Next() {
		if err := msg.Accumulate(s.Current()); err != nil {
			return err
		}
	}
	return s.Err()
}

// workload returns n jobs cycling through prompt sizes of 100 to 2 000
// tokens, max_tokens of 64 to 1 024, and one stream in three.
func workload(n int) []job {
	sizes := []int{100, 400, 1000, 2000}
	maxes := []int64{64, 256, 1024}
	jobs := make([]job, n)
	for i := range jobs {
		jobs[i] = job{
			prompt:    strings.Repeat("abcd", sizes[i%len(sizes)]),
			maxTokens: maxes[i%len(maxes)],
			stream:    i%3 == 0,
		}
	}
	return jobs
}

// outcome is what a run of calls measured on the client side.
type outcome struct {
	failed    int
	latencies []time.Duration
	wall      time.Duration
}

// runJobs runs jobs on workers goroutines, each call with timeout, and
// measures them.
func runJobs(c anthropic.Client, jobs []job, workers int, timeout time.Duration) outcome {
	var (
		mu  sync.Mutex
		out outcome
		wg  sync.WaitGroup
	)
	next := make(chan job)
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for j := range next {
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				t0 := time.Now()
				err := j.do(ctx, c)
				d := time.Since(t0)
				cancel()
				mu.Lock()
				out.latencies = append(out.latencies, d)
				if err != nil {
					out.failed++
				}
				mu.Unlock()
			}
		})
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	out.wall = time.Since(start)
	return out
}

// percentile returns the p-th percentile (0..100) of ds by nearest rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}
