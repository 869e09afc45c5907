package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/limiter"
	"github.com/sluicehq/sluice/telemetry"
)

// closeBase answers every request in memory with a small Messages response
// carrying Anthropic's rate-limit headers, so the limiter learns limits.
type closeBase struct{}

func (closeBase) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	h := http.Header{"Content-Type": {"application/json"}}
	reset := time.Now().Add(time.Minute).UTC().Format(time.RFC3339)
	for _, k := range []string{"requests", "input-tokens", "output-tokens"} {
		h.Set("anthropic-ratelimit-"+k+"-limit", "1000")
		h.Set("anthropic-ratelimit-"+k+"-remaining", "990")
		h.Set("anthropic-ratelimit-"+k+"-reset", reset)
	}
	return &http.Response{StatusCode: http.StatusOK, Header: h, Request: req,
		Body: io.NopCloser(strings.NewReader(handoffSent)), ContentLength: int64(len(handoffSent))}, nil
}

// callbackCounter is a MeterProvider that counts the runs of the callbacks
// registered on its meters.
type callbackCounter struct {
	metric.MeterProvider
	runs atomic.Int64
}

func (p *callbackCounter) Meter(name string, opts ...metric.MeterOption) metric.Meter {
	return countingMeter{Meter: p.MeterProvider.Meter(name, opts...), runs: &p.runs}
}

type countingMeter struct {
	metric.Meter
	runs *atomic.Int64
}

func (m countingMeter) RegisterCallback(f metric.Callback, insts ...metric.Observable) (metric.Registration, error) {
	return m.Meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		m.runs.Add(1)
		return f(ctx, o)
	}, insts...)
}

// closeRig is a ManualReader behind a callbackCounter.
type closeRig struct {
	reader *sdkmetric.ManualReader
	mp     *callbackCounter
}

func newCloseRig() *closeRig {
	r := sdkmetric.NewManualReader()
	return &closeRig{reader: r, mp: &callbackCounter{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))}}
}

// gaugePoints collects once and counts the data points of the limiter and
// breaker gauges.
func (g *closeRig) gaugePoints(t *testing.T) int {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := g.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if !strings.HasPrefix(m.Name, "sluice.limiter.") && m.Name != telemetry.MetricBreakerState {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Gauge[int64]:
				n += len(d.DataPoints)
			case metricdata.Gauge[float64]:
				n += len(d.DataPoints)
			}
		}
	}
	return n
}

// closeCall makes one call through rt under apiKey.
func closeCall(t *testing.T, rt http.RoundTripper, apiKey string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "https://api.anthropic.com/v1/messages",
		strings.NewReader(`{"model":"claude-x","max_tokens":8,"messages":[]}`))
	req.Header.Set("x-api-key", apiKey)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// A Transport's gauges are reported until Close, and not after: Close
// unregisters the callbacks, so a collection no longer runs them.
func TestCloseUnregistersGauges(t *testing.T) {
	defer goleak.VerifyNone(t)
	g := newCloseRig()
	tr := New(closeBase{}, WithTelemetry(telemetry.WithMeterProvider(g.mp)), WithoutAttemptSpans())
	closeCall(t, tr, "tenant-key")
	if n := g.gaugePoints(t); n == 0 {
		t.Fatal("no limiter or breaker gauge reported while the Transport is open")
	}
	if g.mp.runs.Load() == 0 {
		t.Fatal("the collection ran no callback while the Transport is open")
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	g.mp.runs.Store(0)
	if n := g.gaugePoints(t); n != 0 {
		t.Errorf("%d gauge data points reported after Close, want none", n)
	}
	if n := g.mp.runs.Load(); n != 0 {
		t.Errorf("a collection after Close ran %d callbacks, want none", n)
	}
	if err := tr.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}

// A Transport per tenant, created and closed a thousand times, leaves
// nothing behind in what a collection runs and reports.
func TestCloseThousandTransportsLeaveNothing(t *testing.T) {
	defer goleak.VerifyNone(t)
	g := newCloseRig()
	open := New(closeBase{}, WithTelemetry(telemetry.WithMeterProvider(g.mp)), WithoutAttemptSpans())
	defer open.Close()
	closeCall(t, open, "tenant-open")
	g.mp.runs.Store(0)
	points := g.gaugePoints(t)
	runs := g.mp.runs.Load()

	for i := range 1000 {
		tr := New(closeBase{}, WithTelemetry(telemetry.WithMeterProvider(g.mp)), WithoutAttemptSpans())
		closeCall(t, tr, fmt.Sprintf("tenant-%d", i)) // a limit key of its own
		if err := tr.Close(); err != nil {
			t.Fatal(err)
		}
	}
	g.mp.runs.Store(0)
	if n := g.gaugePoints(t); n != points {
		t.Errorf("a collection reports %d gauge data points after 1000 Transports were closed, %d before", n, points)
	}
	if n := g.mp.runs.Load(); n != runs {
		t.Errorf("a collection runs %d callbacks after 1000 Transports were closed, %d before", n, runs)
	}
}

// countingStore counts the calls into a Store.
type countingStore struct {
	limiter.Store
	calls atomic.Int64
}

func (s *countingStore) Reserve(ctx context.Context, key string, c limiter.Cost, p *limiter.Policy, now time.Time) (limiter.Decision, error) {
	s.calls.Add(1)
	return s.Store.Reserve(ctx, key, c, p, now)
}

func (s *countingStore) Adjust(ctx context.Context, key string, d limiter.Cost, p *limiter.Policy, now time.Time) error {
	s.calls.Add(1)
	return s.Store.Adjust(ctx, key, d, p, now)
}

func (s *countingStore) Observe(ctx context.Context, key string, o limiter.Observation, pending limiter.Cost, p *limiter.Policy, now time.Time) error {
	s.calls.Add(1)
	return s.Store.Observe(ctx, key, o, pending, p, now)
}

func (s *countingStore) Cooldown(ctx context.Context, key string, until time.Time) error {
	s.calls.Add(1)
	return s.Store.Cooldown(ctx, key, until)
}

func (s *countingStore) State(ctx context.Context, key string, p *limiter.Policy, now time.Time) (limiter.State, error) {
	s.calls.Add(1)
	return s.Store.State(ctx, key, p, now)
}

// The limiter gauges are served from what the limiter holds: a collection
// makes no Store call (with Redis, one round trip per key), and still
// reports the limits the limiter learned.
func TestLimiterGaugesMakeNoStoreCall(t *testing.T) {
	defer goleak.VerifyNone(t)
	store := &countingStore{Store: limiter.NewMemoryStore()}
	l := limiter.New(limiter.WithStore(store))
	defer l.Close()
	g := newCloseRig()
	tr := New(closeBase{}, WithLimit(LimitSettings{Limiter: l}), WithTelemetry(telemetry.WithMeterProvider(g.mp)), WithoutAttemptSpans())
	defer tr.Close()
	for i := range 3 {
		closeCall(t, tr, fmt.Sprintf("tenant-%d", i))
	}
	if store.calls.Load() == 0 {
		t.Fatal("the calls made no Store call: the wrapper is not in use")
	}
	store.calls.Store(0)

	var rm metricdata.ResourceMetrics
	if err := g.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	if n := store.calls.Load(); n != 0 {
		t.Errorf("a collection made %d Store calls, want none", n)
	}
	limits := 0
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if d, ok := m.Data.(metricdata.Gauge[int64]); ok && m.Name == telemetry.MetricLimiterLimit {
				for _, dp := range d.DataPoints {
					if dp.Value != 1000 {
						t.Errorf("%s = %d, want the learned 1000", m.Name, dp.Value)
					}
				}
				limits += len(d.DataPoints)
			}
		}
	}
	if limits != 3*3 { // three keys, three learned limits each
		t.Errorf("%d sluice.limiter.limit data points, want 9: the gauges must still show the learned limits", limits)
	}
}

// Close ends the waits that hold a call inside the stack — a server's
// Retry-After in the retry layer, an open breaker — with an error that
// matches limiter.ErrClosed, at once; a call made after Close fails the
// same way without reaching the base transport.
func TestCloseEndsRetryAndBreakerWaits(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply func(n int64) *http.Response
		opts  []Option
	}{
		{"retry-after", func(int64) *http.Response { return closeReply(429, "retry-after", "30") }, nil},
		{"open breaker", func(int64) *http.Response { return closeReply(529) },
			[]Option{WithBreaker(BreakerSettings{ConsecutiveFailures: 1, Break: time.Minute})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var sent atomic.Int64
				base := roundTripFunc(func(req *http.Request) (*http.Response, error) {
					if req.Body != nil {
						_ = req.Body.Close()
					}
					r := tc.reply(sent.Add(1))
					r.Request = req
					return r, nil
				})
				tr := New(base, append([]Option{WithoutAttemptSpans()}, tc.opts...)...)
				call := func() error {
					req, _ := http.NewRequest(http.MethodPost, "https://api.anthropic.com/v1/messages",
						strings.NewReader(`{"model":"m","max_tokens":1}`))
					resp, err := tr.RoundTrip(req)
					if resp != nil {
						resp.Body.Close()
					}
					return err
				}
				errc := make(chan error, 1)
				go func() { errc <- call() }()
				// Past the first backoff (0.5 s): the call now waits out the
				// Retry-After of 30 s, or the breaker's minute.
				time.Sleep(5 * time.Second)
				synctest.Wait()
				start, before := time.Now(), sent.Load()
				if before != 1 {
					t.Fatalf("%d attempts sent before Close; want 1", before)
				}
				if err := tr.Close(); err != nil {
					t.Fatal(err)
				}
				err := <-errc
				if !errors.Is(err, limiter.ErrClosed) || time.Since(start) != 0 {
					t.Fatalf("after Close: %v after %v; want limiter.ErrClosed at once", err, time.Since(start))
				}
				if err := call(); !errors.Is(err, limiter.ErrClosed) || sent.Load() != before {
					t.Fatalf("a call after Close: %v, %d sent; want limiter.ErrClosed, nothing sent", err, sent.Load()-before)
				}
			})
		})
	}
}

// closeReply is a response with status and header key-value pairs.
func closeReply(status int, kv ...string) *http.Response {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader("{}"))}
}
