package bench

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// noopTelemetry is OpenTelemetry's no-op providers: what sluice costs when
// the application has not installed an SDK.
func noopTelemetry() Telemetry {
	return Telemetry{Tracer: tracenoop.NewTracerProvider(), Meter: noop.NewMeterProvider()}
}

// recordingTelemetry is the OpenTelemetry SDK recording every span into
// memory and aggregating every metric for a manual reader: the cost of
// telemetry that is really collected, minus the export. reset empties the
// span exporter so a long run does not grow without bound.
func recordingTelemetry() (tel Telemetry, reset func(), shutdown func()) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	return Telemetry{Tracer: tp, Meter: mp}, exp.Reset, func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	}
}

// overheadCase is one row of the overhead table.
type overheadCase struct {
	name  string
	build func(base http.RoundTripper) (rt http.RoundTripper, reset, done func())
}

func overheadCases() []overheadCase {
	nop := func() {}
	sluice := func(layer string, tel func() (Telemetry, func(), func())) func(http.RoundTripper) (http.RoundTripper, func(), func()) {
		l := layers[layer]
		if l == nil {
			return nil
		}
		return func(base http.RoundTripper) (http.RoundTripper, func(), func()) {
			t, reset, done := tel()
			return l(base, t), reset, done
		}
	}
	noopTel := func() (Telemetry, func(), func()) { return noopTelemetry(), nop, nop }
	cases := []overheadCase{
		{"bare", func(base http.RoundTripper) (http.RoundTripper, func(), func()) { return base, nop, nop }},
		{"sluice-noop", sluice(layerNew, noopTel)},
		{"sluice-recording", sluice(layerNew, recordingTelemetry)},
	}
	for _, l := range []string{layerMeter, layerRetry, layerBreaker, layerLimit, layerAttempt} {
		cases = append(cases, overheadCase{"layer-" + l, sluice(l, noopTel)})
	}
	return append(cases,
		overheadCase{"retryablehttp", func(base http.RoundTripper) (http.RoundTripper, func(), func()) {
			return retryableHTTP(base), nop, nop
		}},
		overheadCase{"failsafehttp", func(base http.RoundTripper) (http.RoundTripper, func(), func()) {
			return failsafeHTTP(base, unlimitedRPS), nop, nop
		}},
	)
}

// BenchmarkOverhead measures one non-streaming 200 on loopback through
// each set-up: the server, the bare transport and the request are the same
// for every row, so the difference to "bare" is the set-up's own cost.
func BenchmarkOverhead(b *testing.B) {
	srv := httptest.NewServer(messageHandler())
	defer srv.Close()
	for _, c := range rotate(overheadCases()) {
		b.Run(c.name, func(b *testing.B) {
			if c.build == nil {
				b.Skip("pending: layer not on main")
			}
			base := newBase()
			defer base.CloseIdleConnections()
			rt, reset, done := c.build(base)
			defer done()
			defer closeRT(rt)
			for range 200 { // warm the connection, the pools and the caches
				roundTrip(b, rt, srv.URL)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; b.Loop(); i++ {
				roundTrip(b, rt, srv.URL)
				if i%4096 == 4095 {
					reset()
				}
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

func roundTrip(b *testing.B, rt http.RoundTripper, url string) {
	resp, err := rt.RoundTrip(newMessageRequest(url, requestJSON))
	if err != nil {
		b.Fatal(err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("status %d, err %v", resp.StatusCode, err)
	}
}

// rotate starts the rows at BENCH_ROUND modulo their number, so that over
// bench/run.sh's rounds no row always runs first (or right after a GC-heavy
// neighbour).
func rotate[T any](rows []T) []T {
	k, _ := strconv.Atoi(os.Getenv("BENCH_ROUND"))
	k = (k%len(rows) + len(rows)) % len(rows)
	return append(rows[k:], rows[:k]...)
}

// cpuTime is the CPU time (user + system) the process has used: client,
// server and runtime together. Unlike ns/op it does not grow when other
// processes take the machine's cores, so its ratios are steadier on a busy
// machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// closeRT closes rt when it holds resources (sluice's *transport.Transport
// owns a limiter).
func closeRT(rt http.RoundTripper) {
	if c, ok := rt.(io.Closer); ok {
		_ = c.Close()
	}
}
