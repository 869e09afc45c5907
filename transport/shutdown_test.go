package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sluicehq/sluice/limiter"
	"github.com/sluicehq/sluice/llmtest"
	"github.com/sluicehq/sluice/telemetry"
)

// shutdownRig is a full stack over llmtest with recording telemetry,
// served over in-memory connections: make it inside a synctest bubble.
type shutdownRig struct {
	srv    *llmtest.Server
	url    string
	tr     *Transport
	client *http.Client
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
}

// newShutdownRig builds New over llmtest's fake with cfg. With limiter
// options, its limiter is built from them and owned by the Transport, as
// the one New builds is (newOwning): Close closes it.
func newShutdownRig(t *testing.T, cfg llmtest.Config, lopts ...limiter.Option) *shutdownRig {
	t.Helper()
	g := &shutdownRig{srv: llmtest.NewHandler(cfg), spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	pipe := newPipeServer(t, g.srv)
	t.Cleanup(g.srv.Close)
	g.url = pipe.URL
	g.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(g.spans))
	g.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(g.reader))
	opts := []Option{
		WithTelemetry(telemetry.WithTracerProvider(g.tp), telemetry.WithMeterProvider(g.mp)),
		WithRetry(RetrySettings{InitialBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}),
	}
	if len(lopts) == 0 {
		g.tr = New(pipe.Transport(t), opts...)
	} else {
		g.tr = newOwning(pipe.Transport(t), limiter.New(lopts...), opts...)
	}
	t.Cleanup(func() { _ = g.tr.Close() })
	g.client = &http.Client{Transport: g.tr}
	return g
}

// start makes one call in a goroutine; the channel gets its error once the
// body has been read to its end and closed.
func (g *shutdownRig) start(ctx context.Context, stream bool) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := limitCall(ctx, g.client, g.url, limitBody("claude-shutdown", 40, 16, stream))
		done <- err
	}()
	return done
}

// operations is the number of calls the meter recorded in
// gen_ai.client.operation.duration.
func (g *shutdownRig) operations(t *testing.T) uint64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := g.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if h, ok := m.Data.(metricdata.Histogram[float64]); ok && m.Name == telemetry.MetricGenAIOperationDuration {
				for _, dp := range h.DataPoints {
					n += dp.Count
				}
			}
		}
	}
	return n
}

// shutdownNow returns the error on ch once every goroutine of the bubble
// is blocked, failing the test if the call it belongs to has not returned
// by then: it returned without the clock moving.
func shutdownNow(t *testing.T, ch <-chan error, what string) error {
	t.Helper()
	synctest.Wait()
	select {
	case err := <-ch:
		return err
	default:
		t.Fatalf("%s has not returned at once", what)
		return nil
	}
}

// Close during load: a slow stream holds the only concurrency slot and
// twenty callers queue behind it. Close releases all twenty at once with
// limiter.ErrClosed, sends nothing more to the server, lets the stream
// finish, and every call — released, refused or finished — ends its span
// and is counted in the metrics, which can then be shut down. Nothing keeps
// running (synctest.Test fails on a goroutine left blocked).
func TestShutdownReleasesWaitersAndFlushes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newShutdownRig(t, llmtest.Config{StreamEventDelay: 20 * time.Millisecond},
			limiter.WithConcurrency(1))
		ctx := context.Background()
		inflight := g.start(ctx, true)
		synctest.Wait()
		if n := g.srv.Stats().Arrivals; n != 1 {
			t.Fatalf("%d arrivals, want the stream", n)
		}

		const waiters = 20
		released := make([]<-chan error, waiters)
		for i := range released {
			released[i] = g.start(ctx, false)
		}
		synctest.Wait()
		if st := g.tr.Limiter().Stats(); len(st) != 1 || st[0].Queued != waiters {
			t.Fatalf("limiter stats %+v, want %d queued callers", st, waiters)
		}
		if err := g.tr.Close(); err != nil {
			t.Fatal(err)
		}
		for i, ch := range released {
			if err := shutdownNow(t, ch, "a queued caller after Close"); !errors.Is(err, limiter.ErrClosed) {
				t.Errorf("queued caller %d: %v, want limiter.ErrClosed", i, err)
			}
		}
		if _, err := limitCall(ctx, g.client, g.url, limitBody("claude-shutdown", 40, 16, false)); !errors.Is(err, limiter.ErrClosed) {
			t.Errorf("call after Close: %v, want limiter.ErrClosed", err)
		}
		if err := <-inflight; err != nil {
			t.Errorf("stream in flight during Close: %v, want it to finish", err)
		}
		if n := g.srv.Stats().Arrivals; n != 1 {
			t.Errorf("server saw %d requests, want only the one sent before Close", n)
		}
		if err := g.tr.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		g.checkFlushed(t, waiters+2)
	})
}

// checkFlushed asserts that every span started has ended, that the meter
// counted calls calls, and that both providers shut down cleanly.
func (g *shutdownRig) checkFlushed(t *testing.T, calls int) {
	t.Helper()
	started, ended := len(g.spans.Started()), len(g.spans.Ended())
	if started == 0 || started != ended {
		t.Errorf("%d spans started, %d ended", started, ended)
	}
	if n := g.operations(t); n != uint64(calls) {
		t.Errorf("operation duration recorded for %d calls, want %d", n, calls)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.tp.Shutdown(ctx); err != nil {
		t.Errorf("tracer provider shutdown: %v", err)
	}
	if err := g.mp.Shutdown(ctx); err != nil {
		t.Errorf("meter provider shutdown: %v", err)
	}
}

// A call sleeping on a Retry-After when the transport closes never sends
// its retry: it ends with limiter.ErrClosed at once, not at the end of its
// wait, and its span ends.
func TestShutdownDuringRetryWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newShutdownRig(t, llmtest.Config{})
		g.srv.Inject(llmtest.Fault{Kind: llmtest.FaultStatus, Status: 429, RetryAfter: "1", RetryAfterMs: "300"})
		start := time.Now()
		call := g.start(context.Background(), false)
		synctest.Wait()
		if n := g.srv.Stats().RateLimited; n != 1 {
			t.Fatalf("%d 429s, want the call waiting on one", n)
		}
		if err := g.tr.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-call; !errors.Is(err, limiter.ErrClosed) {
			t.Errorf("call waiting to retry during Close: %v, want limiter.ErrClosed", err)
		}
		// Its wait was retry-after-ms: 300, plus jitter; Close ends it.
		if d := time.Since(start); d != 0 {
			t.Errorf("the call ended %v after Close, want at once", d)
		}
		if n := g.srv.Stats().Arrivals; n != 1 {
			t.Errorf("server saw %d requests after Close, want 1", n)
		}
		g.checkFlushed(t, 1)
	})
}

// Many goroutines calling and closing at once: no race, no panic, every
// call returns by the time the calls would have taken without Close (60
// calls of 2 ms, 4 at a time), and each either succeeds or reports
// limiter.ErrClosed.
func TestShutdownConcurrentWithCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newShutdownRig(t, llmtest.Config{Latency: 2 * time.Millisecond},
			limiter.WithConcurrency(4))
		const calls = 60
		var wg sync.WaitGroup
		errs := make(chan error, calls)
		start := time.Now()
		for i := range calls {
			wg.Go(func() {
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, g.url+"/v1/messages",
					bytes.NewReader(limitBody("claude-shutdown", 40, 16, i%2 == 0)))
				req.Header.Set("x-api-key", limitTestKey)
				resp, err := g.client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				errs <- err
			})
			if i == calls/2 {
				wg.Go(func() { _ = g.tr.Close() })
			}
		}
		wg.Wait()
		if d, most := time.Since(start), calls/4*2*time.Millisecond; d > most {
			t.Errorf("calls racing Close took %v to return, want at most %v", d, most)
		}
		close(errs)
		var closed int
		for err := range errs {
			switch {
			case err == nil:
			case errors.Is(err, limiter.ErrClosed):
				closed++
			default:
				t.Errorf("call racing Close: %v, want success or limiter.ErrClosed", err)
			}
		}
		if closed == 0 {
			t.Logf("every call won the race against Close")
		}
		g.checkFlushed(t, calls)
	})
}
