package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/internal/provider"
	"github.com/sluicehq/sluice/limiter"
	"github.com/sluicehq/sluice/llmtest"
	"github.com/sluicehq/sluice/telemetry"
)

// limitLeaks checks at the end of a test that it left no goroutine. (The
// transport package's tests are shared by several layers, so this layer
// checks per test rather than in a TestMain.)
func limitLeaks(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		goleak.VerifyNone(t,
			goleak.IgnoreCurrent(),
			goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
			goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
			goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"))
	})
}

const limitTestKey = "sk-limit-test"

// limitBody is an Anthropic Messages body with a prompt of n bytes.
func limitBody(model string, n, maxTokens int, stream bool) []byte {
	b, _ := json.Marshal(map[string]any{
		"model": model, "max_tokens": maxTokens, "stream": stream,
		"messages": []any{map[string]any{"role": "user", "content": string(bytes.Repeat([]byte("word "), n/5+1))[:n]}},
	})
	return b
}

// limitCall posts body to the fake's Messages API through c and reads the
// whole response.
func limitCall(ctx context.Context, c *http.Client, url string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/messages", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("x-api-key", limitTestKey)
	req.Header.Set("content-type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode == 429 && testing.Verbose() {
		fmt.Println(string(b))
	}
	return resp.StatusCode, err
}

func limitKeyFor(model string) string {
	h := http.Header{}
	h.Set("x-api-key", limitTestKey)
	return provider.KeyFingerprint(h) + "/" + model
}

// limitGoodputConfig is the goodput scenario's fake: a quota far below the
// demand, and every response as long as its max_tokens.
func limitGoodputConfig(window time.Duration) llmtest.Config {
	return llmtest.Config{Window: window, Quota: llmtest.Quota{Requests: 60, InputTokens: 20000, OutputTokens: 8000},
		OutputTokens: func(_ string, _, maxTokens int) int { return maxTokens }}
}

// limitGoodput runs the goodput scenario against a fake on loopback, in real
// time, for BenchmarkLimitGoodput.
func limitGoodput(tb testing.TB, workers, calls int, window time.Duration) (srv *llmtest.Server, wall, ideal time.Duration, failures int64) {
	srv = llmtest.NewServer(limitGoodputConfig(window))
	wall, ideal, failures = limitGoodputRun(http.DefaultTransport, srv.URL, workers, calls, window)
	return srv, wall, ideal, failures
}

// limitGoodputRun runs workers×calls of varied size through a Limit layer
// over base with learned limits against the fake of limitGoodputConfig at
// url. It returns the time taken and the quota's theoretical minimum for
// the work.
func limitGoodputRun(base http.RoundTripper, url string, workers, calls int, window time.Duration) (wall, ideal time.Duration, failures int64) {
	q := limitGoodputConfig(window).Quota
	l := limiter.New(limiter.WithWindow(window))
	defer l.Close()
	c := &http.Client{Transport: Limit(base, LimitSettings{Limiter: l})}
	defer c.CloseIdleConnections()
	var in, out int
	bodies := make([][]byte, calls)
	for i := range bodies {
		size, maxTok := 200+(i*997)%3000, 16+(i*31)%200
		bodies[i] = limitBody("claude-goodput", size, maxTok, i%3 == 0)
		in += llmtest.CountTokens(string(bodies[i][:0])) + (size+3)/4
		out += maxTok
	}
	// Each bucket starts full and refills at quota per window: the work
	// cannot finish before the slowest bucket has refilled what it lacks.
	need := func(total, quota int) time.Duration {
		return time.Duration(float64(max(total-quota, 0)) / float64(quota) * float64(window))
	}
	ideal = max(need(calls, q.Requests), need(in, q.InputTokens), need(out, q.OutputTokens))
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(calls) {
					return
				}
				if code, err := limitCall(context.Background(), c, url, bodies[i]); err != nil || code != 200 {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start), ideal, failed.Load()
}

// 40 workers make 300 calls of varied size against a quota far below the
// demand: the limiter learns the limits from the first answers and no call
// meets a 429. In virtual time over in-memory connections, so nothing but
// the limiter decides when a call is sent; with remaining token counts
// exact and, as Anthropic sends them, rounded to the nearest thousand (the
// first rounded reading is taken at its lower bound: taken as sent, the
// limiter started up to 500 tokens above the provider and the odd call met
// a 429, 1 run in 8).
func TestLimitGoodput(t *testing.T) {
	for _, exact := range []bool{true, false} {
		t.Run(fmt.Sprintf("exact=%v", exact), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := limitGoodputConfig(time.Second)
				cfg.ExactHeaders = exact
				srv := llmtest.NewHandler(cfg)
				pipe := newPipeServer(t, srv)
				t.Cleanup(srv.Close)
				wall, ideal, failed := limitGoodputRun(pipe.Transport(t), pipe.URL, 40, 300, time.Second)
				st := srv.Stats()
				t.Logf("virtual time %v, ideal %v, ratio %.3f, arrivals %d, 429s %d", wall, ideal, wall.Seconds()/ideal.Seconds(), st.Arrivals, st.RateLimited)
				if failed != 0 || st.RateLimited != 0 || st.Arrivals != 300 {
					t.Fatalf("%d calls failed, %d 429s, %d arrivals; want 0, 0, 300", failed, st.RateLimited, st.Arrivals)
				}
			})
		})
	}
}

// limitFake serves llmtest's fake with cfg over in-memory connections, for
// a test in a synctest bubble, and returns a client through a Limit layer
// with l that reaches it.
func limitFake(t *testing.T, cfg llmtest.Config, l *limiter.Limiter) (*llmtest.Server, string, *http.Client) {
	t.Helper()
	srv := llmtest.NewHandler(cfg)
	pipe := newPipeServer(t, srv)
	t.Cleanup(srv.Close) // before the pipe server closes: ends open streams
	return srv, pipe.URL, &http.Client{Transport: Limit(pipe.Transport(t), LimitSettings{Limiter: l})}
}

// limitStream starts a streamed call through c and returns its response,
// body unread.
func limitStream(t *testing.T, c *http.Client, url string, maxTokens int) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/messages", bytes.NewReader(limitBody("m", 10, maxTokens, true)))
	req.Header.Set("x-api-key", limitTestKey)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestLimitLearnsLimitsWithoutOptions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := limiter.New()
		defer l.Close()
		srv, url, c := limitFake(t, llmtest.Config{Window: time.Hour, Quota: llmtest.Quota{Requests: 5, InputTokens: 100000, OutputTokens: 10000}}, l)
		for range 5 {
			if code, err := limitCall(context.Background(), c, url, limitBody("m", 100, 10, false)); err != nil || code != 200 {
				t.Fatalf("call: %d %v", code, err)
			}
		}
		st := l.StatsFor(limitKeyFor("m"))
		if st.Limits[limiter.Requests] != 5 || st.Limits[limiter.InputTokens] != 100000 || st.Limits[limiter.OutputTokens] != 10000 {
			t.Fatalf("learned limits %v, want the server's", st.Limits)
		}
		// The sixth call would wait 12 minutes for a request: with a
		// deadline of 2 s it is refused at once and never reaches the
		// server.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		_, err := limitCall(ctx, c, url, limitBody("m", 100, 10, false))
		var we *limiter.WaitError
		if !errors.As(err, &we) || we.Reason != limiter.ReasonFor(limiter.Requests) {
			t.Fatalf("sixth call: %v, want a requests WaitError", err)
		}
		if el := time.Since(start); el != 0 {
			t.Fatalf("sixth call refused after %v, want at once", el)
		}
		if s := srv.Stats(); s.Arrivals != 5 || s.RateLimited != 0 {
			t.Fatalf("server saw %d arrivals, %d 429s; want 5, 0", s.Arrivals, s.RateLimited)
		}
		// Another model has its own limits.
		if code, err := limitCall(context.Background(), c, url, limitBody("other", 100, 10, false)); err != nil || code != 200 {
			t.Fatalf("other model: %d %v", code, err)
		}
	})
}

// An explicit limit of 5 requests per 500 ms, below the server's 100: 5
// calls at once, then one every 100 ms as the bucket refills.
func TestLimitExplicitLimitsBelowServer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := limiter.New(limiter.WithWindow(500*time.Millisecond), limiter.WithLimits(limiter.Limits{Requests: 5}))
		defer l.Close()
		srv, url, c := limitFake(t, llmtest.Config{Window: 500 * time.Millisecond, Quota: llmtest.Quota{Requests: 100}}, l)
		start := time.Now()
		for range 15 {
			if code, err := limitCall(context.Background(), c, url, limitBody("m", 50, 10, false)); err != nil || code != 200 {
				t.Fatalf("call: %d %v", code, err)
			}
		}
		for i, r := range srv.Requests() {
			if at, want := r.Time.Sub(start), time.Duration(max(i-4, 0))*100*time.Millisecond; at != want {
				t.Errorf("call %d arrived at %v, want %v", i, at, want)
			}
		}
		if got := l.StatsFor(limitKeyFor("m")).Limits[limiter.Requests]; got != 5 {
			t.Fatalf("requests limit %d, want the explicit 5 capping the server's 100", got)
		}
	})
}

func TestLimitHoldsSlotUntilBodyClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := limiter.New(limiter.WithConcurrency(1))
		defer l.Close()
		srv, url, c := limitFake(t, llmtest.Config{StreamEventDelay: time.Millisecond}, l)
		resp := limitStream(t, c, url, 10)
		second := make(chan error, 1)
		go func() {
			_, err := limitCall(context.Background(), c, url, limitBody("m", 50, 10, false))
			second <- err
		}()
		synctest.Wait()
		key := limitKeyFor("m")
		if q, n := l.StatsFor(key).Queued, srv.Stats().Arrivals; q != 1 || n != 1 {
			t.Fatalf("while the first stream is open: %d queued, %d arrivals; want 1, 1", q, n)
		}
		resp.Body.Close()
		if err := <-second; err != nil {
			t.Fatal(err)
		}
		if st := l.StatsFor(key); st.InFlight != 0 {
			t.Fatalf("in flight %d after both bodies closed", st.InFlight)
		}
	})
}

// A 429 with retry-after-ms 300 holds the key's next call until exactly
// 300 ms after it, in a wait span and metrics whose reason is the
// cool-down.
func TestLimit429SetsCooldown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var arrivals []time.Time // the handler runs one call at a time
		pipe := newPipeServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			arrivals = append(arrivals, time.Now())
			if len(arrivals) == 1 {
				w.Header().Set("retry-after-ms", "300")
				w.WriteHeader(http.StatusTooManyRequests)
				fmt.Fprint(w, `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`)
				return
			}
			fmt.Fprint(w, `{"usage":{"input_tokens":1,"output_tokens":1}}`)
		}))
		sr := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
		reader := metric.NewManualReader()
		mp := metric.NewMeterProvider(metric.WithReader(reader))
		c := &http.Client{Transport: Limit(pipe.Transport(t), LimitSettings{}, WithTelemetry(telemetry.WithTracerProvider(tp), telemetry.WithMeterProvider(mp)))}
		if code, _ := limitCall(context.Background(), c, pipe.URL, limitBody("m", 10, 10, false)); code != 429 {
			t.Fatalf("first call %d, want 429", code)
		}
		if len(sr.Ended()) != 0 {
			t.Fatalf("a wait span for a call that did not wait: %v", sr.Ended()[0].Name())
		}
		if code, err := limitCall(context.Background(), c, pipe.URL, limitBody("m", 10, 10, false)); code != 200 || err != nil {
			t.Fatalf("second call %d %v", code, err)
		}
		if gap := arrivals[1].Sub(arrivals[0]); gap != 300*time.Millisecond {
			t.Fatalf("second call reached the server %v after the 429; want its retry-after-ms, 300ms", gap)
		}
		limitCheckCooldownTelemetry(t, sr, reader)
	})
}

// limitCheckCooldownTelemetry checks that one wait span, for the cool-down,
// and the limiter's metrics were recorded.
func limitCheckCooldownTelemetry(t *testing.T, sr *tracetest.SpanRecorder, reader *metric.ManualReader) {
	t.Helper()
	spans := sr.Ended()
	if len(spans) != 1 || spans[0].Name() != telemetry.SpanLimiterWait {
		t.Fatalf("spans = %d, want one %s", len(spans), telemetry.SpanLimiterWait)
	}
	var reason string
	for _, a := range spans[0].Attributes() {
		if a.Key == telemetry.AttrLimiterReason {
			reason = a.Value.AsString()
		}
	}
	if reason != "cooldown" {
		t.Fatalf("wait span reason %q, want cooldown", reason)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			found[m.Name] = true
		}
	}
	for _, name := range []string{telemetry.MetricLimiterWaitDuration, telemetry.MetricLimiterQueueLength, telemetry.MetricLimiterInFlight} {
		if !found[name] {
			t.Errorf("metric %s not recorded; have %v", name, found)
		}
	}
}

func TestLimitCancelledWaitersGiveBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := limiter.New(limiter.WithWindow(time.Hour), limiter.WithLimits(limiter.Limits{OutputTokens: 1000}))
		defer l.Close()
		srv, url, c := limitFake(t, llmtest.Config{Window: time.Hour, Quota: llmtest.Quota{Requests: 1000, OutputTokens: 1000}, StreamEventDelay: 5 * time.Millisecond}, l)
		key := limitKeyFor("m")
		// A stream left open keeps its 900 output tokens reserved.
		first := limitStream(t, c, url, 900)
		before := l.StatsFor(key).Remaining[limiter.OutputTokens]
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if _, err := limitCall(ctx, c, url, limitBody("m", 10, 500, false)); !errors.Is(err, context.Canceled) {
					t.Errorf("waiter: %v", err)
				}
			})
		}
		synctest.Wait()
		if q := l.StatsFor(key).Queued; q != 20 {
			t.Fatalf("%d queued, want 20 waiters", q)
		}
		cancel()
		wg.Wait()
		st := l.StatsFor(key)
		if st.Remaining[limiter.OutputTokens] != before || st.Queued != 0 || st.InFlight != 1 {
			t.Fatalf("after cancelling: remaining %v (was %v), queued %d, in flight %d", st.Remaining[limiter.OutputTokens], before, st.Queued, st.InFlight)
		}
		first.Body.Close()
		if srv.Stats().Arrivals != 1 {
			t.Fatalf("cancelled waiters reached the server")
		}
		synctest.Wait()
		if n := l.StatsFor(key).InFlight; n != 0 {
			t.Fatalf("in flight %d after the stream's body was closed", n)
		}
	})
}

func TestLimitSettleCorrectsEstimate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A starting ratio of 1 byte per token overestimates the input 4×.
		l := limiter.New(limiter.WithWindow(time.Hour), limiter.WithBytesPerToken(1))
		defer l.Close()
		srv, url, c := limitFake(t, llmtest.Config{Window: time.Hour, Quota: llmtest.Quota{InputTokens: 100000, OutputTokens: 10000}, ExactHeaders: true}, l)
		// 4100 bytes, so that the server's remaining count is not a
		// multiple of 1000, which the limiter reads as rounded (as
		// Anthropic's are).
		body := limitBody("m", 4100, 1000, false)
		if code, err := limitCall(context.Background(), c, url, body); code != 200 || err != nil {
			t.Fatalf("%d %v", code, err)
		}
		st := l.StatsFor(limitKeyFor("m"))
		srvIn, srvOut := srv.Stats().InputTokens, srv.Stats().OutputTokens
		if used := st.Used[limiter.InputTokens]; used != float64(srvIn) {
			t.Fatalf("input used %v after settling, want the server's count %d", used, srvIn)
		}
		// The output bucket was learned from this very response, whose
		// headers already counted its output; the limiter cannot tell a
		// whole response from a stream (whose headers count none of it)
		// and charges the output again, erring on the safe side once per
		// key: 2×.
		if used := st.Used[limiter.OutputTokens]; used != 2*float64(srvOut) {
			t.Fatalf("output used %v after settling, want %d (max_tokens 1000 not charged)", used, 2*srvOut)
		}
		if est := l.EstimateInputTokens("m", int64(len(body))); est < srvIn || float64(est) > 1.1*float64(srvIn) {
			t.Fatalf("calibrated estimate %d for the same body, want within 10%% above %d", est, srvIn)
		}
	})
}

// TestLimitEstimateError measures the input-token estimate against the
// fake's tokenizer (llmtest.CountTokens) on bodies of varied size after 30
// calibrating calls; docs/limiter.md quotes the figures.
func TestLimitEstimateError(t *testing.T) {
	limitLeaks(t)
	srv := llmtest.NewServer(llmtest.Config{})
	defer srv.Close()
	l := limiter.New()
	defer l.Close()
	c := &http.Client{Transport: Limit(http.DefaultTransport, LimitSettings{Limiter: l})}
	defer c.CloseIdleConnections()
	for i := range 30 {
		if code, err := limitCall(context.Background(), c, srv.URL, limitBody("m", 200+(i*997)%3000, 16, false)); code != 200 || err != nil {
			t.Fatalf("%d %v", code, err)
		}
	}
	var worstUnder, worstOver float64
	for i := range 100 {
		size := 50 + (i*7919)%8000
		body := limitBody("m", size, 16, false)
		actual := float64(llmtest.CountTokens(string(bytes.Repeat([]byte("word "), size/5+1))[:size]))
		rel := float64(l.EstimateInputTokens("m", int64(len(body))))/actual - 1
		worstUnder, worstOver = min(worstUnder, rel), max(worstOver, rel)
	}
	t.Logf("estimate error on 100 bodies of 50..8050 bytes: %+.1f%% .. %+.1f%%", 100*worstUnder, 100*worstOver)
	if worstUnder < -0.02 || worstOver > 0.25 {
		t.Fatalf("estimate error %+.1f%% .. %+.1f%%, want within -2%% .. +25%%", 100*worstUnder, 100*worstOver)
	}
}
