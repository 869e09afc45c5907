package transport

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// downUntil answers 529 to every request that arrives before up, 200
// after, and records when each arrived.
type downUntil struct {
	start, up time.Time
	latency   time.Duration
	mu        sync.Mutex
	at        []time.Duration
}

func (d *downUntil) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	now := time.Now()
	time.Sleep(d.latency)
	d.mu.Lock()
	d.at = append(d.at, now.Sub(d.start))
	d.mu.Unlock()
	status, body := 200, `{"type":"message","usage":{"input_tokens":1,"output_tokens":1}}`
	if now.Before(d.up) {
		status, body = 529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`
	}
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
}

// An API down for 20 s: the breaker opens after the default run of
// failures, then probes after 1, 2, 4, 8 and 10 s breaks (each failed probe
// doubles the next, up to MaxBreak), and the first probe after the API is
// back closes it: the waiting call goes through within one break of the
// recovery.
func TestBreakerProbesAfterGrowingBreaks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		api := &downUntil{start: start, up: start.Add(20 * time.Second)}
		rt := Breaker(api, BreakerSettings{})
		n := defaultBreakerConsecutiveFailures
		for range n {
			if code, err := breakerProbeCall(rt); err != nil || code != 529 {
				t.Fatalf("call before the trip: %d, %v; want a 529", code, err)
			}
		}
		// Every further call waits for the breaker; each one that meets
		// a failed probe's 529 is the probe itself.
		for {
			code, err := breakerProbeCall(rt)
			if err != nil {
				t.Fatal(err)
			}
			if code == 200 {
				break
			}
		}
		var probes []string
		for _, at := range api.at[n:] {
			probes = append(probes, at.String())
		}
		want := "[1s 3s 7s 15s 25s]" // 25 s: the first probe after the API is back
		if got := fmt.Sprint(probes); got != want {
			t.Fatalf("probes at %s, want %s", got, want)
		}
	})
}

// Under load, the answers to the requests in flight when the breaker opens
// arrive after it opened: they must neither let a probe through before the
// break ends nor count as failed probes. 20 workers meet an API that is
// down for 1.5 s: the first answers come back at 10 ms, the breaker opens
// on the tenth, then one probe after 1 s (down: the next break is 2 s),
// then one after 2 s more, which closes the breaker.
func TestBreakerInFlightFailuresDoNotProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		api := &downUntil{start: start, up: start.Add(1500 * time.Millisecond), latency: 10 * time.Millisecond}
		rt := Breaker(api, BreakerSettings{})
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				for {
					if code, err := breakerProbeCall(rt); err != nil || code == 200 {
						return
					}
				}
			})
		}
		wg.Wait()
		var during []string
		for _, at := range api.at {
			if at > 100*time.Millisecond && at <= 3020*time.Millisecond {
				during = append(during, at.String())
			}
		}
		if got, want := fmt.Sprint(during), "[1.01s 3.02s]"; got != want {
			t.Fatalf("arrivals from 100 ms to the second probe %s, want %s: one probe per break", got, want)
		}
	})
}

func breakerProbeCall(rt http.RoundTripper) (int, error) {
	req, _ := http.NewRequest(http.MethodPost, "http://api.test/v1/messages",
		strings.NewReader(`{"model":"m","max_tokens":10,"messages":[]}`))
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
