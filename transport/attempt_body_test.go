package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sluicehq/sluice/telemetry"
)

// writeCounter is a base transport whose connections count their writes.
func writeCounter(writes *atomic.Int64) *http.Transport {
	base := http.DefaultTransport.(*http.Transport).Clone()
	var d net.Dialer
	base.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countingConn{c, writes}, nil
	}
	return base
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestAttemptSendsSmallBodyInOneWrite: with attempt spans recording,
// otelhttp wraps the request body, and net/http would then write the
// headers and the body separately. A 1 KB request must leave in one write,
// arrive whole, and still be counted by otelhttp's request body size
// metric; a 10 KB one is sent as it was.
func TestAttemptSendsSmallBodyInOneWrite(t *testing.T) {
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if int64(len(b)) == r.ContentLength && bytes.Equal(b, bytes.Repeat([]byte{'x'}, len(b))) {
			got.Add(1)
		}
	}))
	defer srv.Close()
	var writes atomic.Int64
	base := writeCounter(&writes)
	defer base.CloseIdleConnections()
	reader := sdkmetric.NewManualReader()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder()))
	rt := Attempt(base, WithTelemetry(telemetry.WithTracerProvider(tp),
		telemetry.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))))

	send := func(size int) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(bytes.Repeat([]byte{'x'}, size)))
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	send(1024) // dials: the connection's own writes are not the request's
	writes.Store(0)
	const n = 20
	for range n {
		send(1024)
	}
	if w := writes.Load(); w != n {
		t.Fatalf("%d writes for %d 1 KB requests, want one each", w, n)
	}
	send(10 << 10)
	if got.Load() != n+2 {
		t.Fatalf("server got %d whole bodies, want %d", got.Load(), n+2)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if h, ok := m.Data.(metricdata.Histogram[int64]); ok && m.Name == "http.client.request.body.size" {
				for _, p := range h.DataPoints {
					sum += p.Sum
				}
			}
		}
	}
	if want := int64((n+1)*1024 + 10<<10); sum != want {
		t.Fatalf("http.client.request.body.size sums to %d, want %d", sum, want)
	}
}

// TestAttemptBodyOfWrongLength: a body shorter or longer than its
// ContentLength fails as net/http fails it without the attempt layer.
func TestAttemptBodyOfWrongLength(t *testing.T) {
	// The handler answers only when the client gives up on the request:
	// answering after the declared 100 bytes would race net/http's check
	// for a body longer than its ContentLength.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}))
	defer srv.Close()
	base := http.DefaultTransport.(*http.Transport).Clone()
	defer base.CloseIdleConnections()
	tp := sdktrace.NewTracerProvider()
	rt := Attempt(base, WithTelemetry(telemetry.WithTracerProvider(tp)))
	for _, size := range []int{90, 110, 0} {
		for name, rt := range map[string]http.RoundTripper{"bare": base, "attempt": rt} {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader(strings.Repeat("x", 100)))
			req.Body = io.NopCloser(io.LimitReader(strings.NewReader(strings.Repeat("x", 200)), int64(size)))
			resp, err := rt.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("%s: a %d-byte body sent as 100 bytes", name, size)
			}
			// net/http reports the mismatch itself, or — when the server
			// saw the short body first and closed — the closed connection.
			if !strings.Contains(err.Error(), "ContentLength=100 with Body length") && !errors.Is(err, net.ErrClosed) {
				t.Fatalf("%s, %d bytes: %v", name, size, err)
			}
		}
	}
}
