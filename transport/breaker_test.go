package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sluicehq/sluice/telemetry"
)

// breakerServer answers with the status its test sets, and counts
// arrivals. It serves over in-memory connections: make it inside a
// synctest bubble.
type breakerServer struct {
	*pipeServer
	status   atomic.Int64
	arrivals atomic.Int64
}

func newBreakerServer(t *testing.T) *breakerServer {
	t.Helper()
	s := &breakerServer{}
	s.status.Store(200)
	s.pipeServer = newPipeServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status := s.status.Load() // decided before the arrival is visible
		s.arrivals.Add(1)
		w.WriteHeader(int(status))
		w.Write([]byte(`{}`))
	}))
	return s
}

// breakerCall sends one Anthropic-shaped request through rt.
func breakerCall(ctx context.Context, rt http.RoundTripper, url, model string) (int, error) {
	body := `{"model":"` + model + `","max_tokens":10,"messages":[]}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/messages", strings.NewReader(body))
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

var testBreaker = BreakerSettings{FailureRatio: 0.5, MinRequests: 4, Window: time.Minute, Break: 150 * time.Millisecond}

// testFailFast is testBreaker with FailFast.
var testFailFast = func() BreakerSettings { s := testBreaker; s.FailFast = true; return s }()

func TestBreakerCountsWhatItShould(t *testing.T) {
	tests := []struct {
		status   int
		wantOpen bool
	}{
		{529, true}, {500, true}, {503, true},
		{429, false}, // quota, not an outage
		{400, false}, {404, false}, {200, false},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newBreakerServer(t)
				srv.status.Store(int64(tt.status))
				rt := Breaker(srv.Transport(t), testFailFast)
				for range 6 {
					breakerCall(context.Background(), rt, srv.URL, "m")
				}
				_, err := breakerCall(context.Background(), rt, srv.URL, "m")
				if open := errors.Is(err, ErrBreakerOpen); open != tt.wantOpen {
					t.Fatalf("after 6 × %d: open = %v (err %v), want %v", tt.status, open, err, tt.wantOpen)
				}
			})
		})
	}
}

func TestBreakerTransportErrorsTrip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newBreakerServer(t)
		rt := Breaker(srv.Transport(t), testFailFast)
		srv.Close() // connection refused from now on
		for range 4 {
			if _, err := breakerCall(context.Background(), rt, srv.URL, "m"); err == nil || errors.Is(err, ErrBreakerOpen) {
				t.Fatalf("want a transport error, got %v", err)
			}
		}
		if _, err := breakerCall(context.Background(), rt, srv.URL, "m"); !errors.Is(err, ErrBreakerOpen) {
			t.Fatalf("after 4 refused connections: %v, want ErrBreakerOpen", err)
		}
	})
}

// Calls the caller cancelled or timed out say nothing about the API: six
// of them, each cut at its 20 ms deadline, leave the breaker closed.
func TestBreakerCanceledCallsDoNotCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newPipeServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body) // lets the server notice the client going away
			<-r.Context().Done()
		}))
		rt := Breaker(srv.Transport(t), testFailFast)
		for range 6 {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			start := time.Now()
			if _, err := breakerCall(ctx, rt, srv.URL, "m"); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 20*time.Millisecond {
				t.Fatalf("call: %v after %v, want the deadline at 20ms", err, time.Since(start))
			}
			cancel()
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := breakerCall(ctx, rt, srv.URL, "m"); errors.Is(err, ErrBreakerOpen) {
			t.Fatal("cancelled and timed-out calls opened the breaker")
		}
	})
}

func TestBreakerKeysAreIndependent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newBreakerServer(t)
		srv.status.Store(529)
		rt := Breaker(srv.Transport(t), testFailFast)
		for range 4 {
			breakerCall(context.Background(), rt, srv.URL, "overloaded")
		}
		_, err := breakerCall(context.Background(), rt, srv.URL, "overloaded")
		var boe *BreakerOpenError
		if !errors.As(err, &boe) || !strings.HasSuffix(boe.Key, " overloaded") || boe.Reason != "fail_fast" {
			t.Fatalf("err = %v, want a fail-fast BreakerOpenError for the overloaded model", err)
		}
		srv.status.Store(200)
		if code, err := breakerCall(context.Background(), rt, srv.URL, "other"); err != nil || code != 200 {
			t.Fatalf("another model: %d %v, want 200", code, err)
		}
	})
}

// TestBreakerOutageStory: the API goes down, the breaker trips, waiting
// calls hold while only probes reach the server, a call whose deadline is
// too short fails fast, and everything proceeds once a probe succeeds:
// the first probe, at the end of the break, fails; the second, one more
// break later, succeeds and releases every waiter at that moment.
func TestBreakerOutageStory(t *testing.T) {
	synctest.Test(t, testBreakerOutageStory)
}

func testBreakerOutageStory(t *testing.T) {
	srv := newBreakerServer(t)
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&breakerLockedWriter{w: &logs, mu: &logMu}, nil))
	settings := testBreaker
	settings.Break = 300 * time.Millisecond
	rt := Breaker(srv.Transport(t), settings, WithLogger(logger),
		WithTelemetry(telemetry.WithTracerProvider(tp), telemetry.WithMeterProvider(mp)))

	srv.status.Store(529)
	for i := range 4 {
		ctx, span := tp.Tracer("test").Start(context.Background(), "call")
		if code, _ := breakerCall(ctx, rt, srv.URL, "m"); code != 529 {
			t.Fatalf("call %d: %d, want 529", i, code)
		}
		span.End()
	}
	before := srv.arrivals.Load()
	tripped := time.Now()

	// A call that cannot wait for the break fails at once.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	_, err := breakerCall(ctx, rt, srv.URL, "m")
	cancel()
	var boe *BreakerOpenError
	if !errors.As(err, &boe) || boe.Reason != "deadline" || !boe.RetryAt.Equal(tripped.Add(settings.Break)) {
		t.Fatalf("short deadline: %v, want a deadline BreakerOpenError naming the end of the break", err)
	}
	if time.Since(tripped) != 0 {
		t.Fatalf("the refusal took %v", time.Since(tripped))
	}

	// Waiting calls: they hold while the breaker is open.
	const waiters = 8
	var wg sync.WaitGroup
	codes := make(chan int, waiters)
	for range waiters {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			code, err := breakerCall(ctx, rt, srv.URL, "m")
			if err != nil {
				t.Errorf("waiting call: %v", err)
			}
			codes <- code
		})
	}
	synctest.Wait()
	if n := srv.arrivals.Load() - before; n != 0 {
		t.Fatalf("%d calls reached the server during the break", n)
	}
	// The first probe, at the end of the break, fails: its caller gets the
	// 529 (a retry layer above would retry it) and the breaker opens again;
	// only that probe reached the server.
	time.Sleep(settings.Break)
	synctest.Wait()
	if n := srv.arrivals.Load() - before; n != 1 || len(codes) != 1 {
		t.Fatalf("at the end of the break: %d arrivals and %d calls done, want the one probe", n, len(codes))
	}
	srv.status.Store(200) // the API recovers
	wg.Wait()
	close(codes)
	got := map[int]int{}
	for code := range codes {
		got[code]++
	}
	if got[529] != 1 || got[200] != waiters-1 {
		t.Fatalf("waiting calls got %v, want one failed probe and %d × 200", got, waiters-1)
	}
	if n := srv.arrivals.Load() - before; n != waiters {
		t.Fatalf("%d arrivals after the trip, want %d: nothing but the calls themselves", n, waiters)
	}
	// The failed probe doubled the next break.
	if waited, want := time.Since(tripped), settings.Break+2*settings.Break; waited != want {
		t.Fatalf("waiters proceeded after %v, want at the second probe, after a break and one twice as long (%v)", waited, want)
	}

	// Telemetry: the transitions, on spans, metrics and logs.
	var events []string
	for _, s := range spans.Ended() {
		for _, ev := range s.Events() {
			if ev.Name == telemetry.EventBreakerStateChange {
				events = append(events, breakerAttrValue(ev.Attributes, telemetry.AttrBreakerTo))
			}
		}
	}
	if len(events) != 1 || events[0] != "open" {
		t.Fatalf("state-change events on the caller spans: %v, want [open]", events)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	trans := map[string]int64{}
	var state int64 = -1
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				if m.Name == telemetry.MetricBreakerTransitions {
					for _, p := range d.DataPoints {
						from, _ := p.Attributes.Value(telemetry.AttrBreakerFrom)
						to, _ := p.Attributes.Value(telemetry.AttrBreakerTo)
						trans[from.AsString()+">"+to.AsString()] += p.Value
					}
				}
			case metricdata.Gauge[int64]:
				if m.Name == telemetry.MetricBreakerState {
					state = d.DataPoints[0].Value
				}
			}
		}
	}
	want := map[string]int64{"closed>open": 1, "open>half-open": 2, "half-open>open": 1, "half-open>closed": 1}
	for k, v := range want {
		if trans[k] != v {
			t.Fatalf("transitions %v, want %v", trans, want)
		}
	}
	if state != 0 {
		t.Fatalf("state gauge = %d, want 0 (closed)", state)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if n := strings.Count(logs.String(), "circuit breaker state changed"); n != 5 {
		t.Fatalf("%d state-change log records, want 5:\n%s", n, logs.String())
	}
}

type breakerLockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *breakerLockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func breakerAttrValue(attrs []attribute.KeyValue, k attribute.Key) string {
	for _, a := range attrs {
		if a.Key == k {
			return a.Value.String()
		}
	}
	return ""
}

// Cancelling a call that waits for an open breaker ends it at once with
// the cause.
func TestBreakerCanceledWaitReportsCause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newBreakerServer(t)
		srv.status.Store(529)
		rt := Breaker(srv.Transport(t), BreakerSettings{FailureRatio: 1, MinRequests: 1, Break: time.Hour})
		breakerCall(context.Background(), rt, srv.URL, "m")
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(20*time.Millisecond, cancel)
		start := time.Now()
		_, err := breakerCall(ctx, rt, srv.URL, "m")
		var boe *BreakerOpenError
		if !errors.As(err, &boe) || boe.Reason != "canceled" || !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want a canceled BreakerOpenError wrapping context.Canceled", err)
		}
		if d := time.Since(start); d != 20*time.Millisecond || srv.arrivals.Load() != 1 {
			t.Fatalf("returned after %v with %d arrivals, want at the cancel (20ms), none sent", d, srv.arrivals.Load())
		}
	})
}
