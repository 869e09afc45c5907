package bench

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/sluicehq/sluice/internal/pairbench"
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
// each set-up against the bare transport, paired: every iteration makes
// one call through a bare transport of its own and one through the set-up,
// in alternating order, so that the load of the moment (a loopback call
// varies by tens of percent from one second to the next on a shared
// machine, more than most set-ups cost) hits both sides of each pair
// alike. The figures are the medians of the calls' own wall times,
// "bare-ns/call" and "ns/call", and "x-bare" between them; beside them,
// counted over calls made before the timed loop, the process CPU time
// (cpuPerCall) and the heap bytes and objects (heapPerCall) of each kind
// of call ("bare-cpu-ns/call", "cpu-ns/call", "bare-B/call", "B/call",
// …). The "bare" row pairs the bare transport with another one: the
// method's own bias, which should be within a percent of 1.00×. ns/op is
// the pair.
func BenchmarkOverhead(b *testing.B) {
	srv := httptest.NewServer(messageHandler())
	defer srv.Close()
	for _, c := range rotate(overheadCases()) {
		b.Run(c.name, func(b *testing.B) {
			if c.build == nil {
				b.Skip("pending: layer not on main")
			}
			pair := newBase()
			defer pair.CloseIdleConnections()
			base := newBase()
			defer base.CloseIdleConnections()
			rt, reset, done := c.build(base)
			defer done()
			defer closeRT(rt)
			for range 200 { // warm the connections, the pools and the caches
				roundTrip(b, pair, srv.URL)
				roundTrip(b, rt, srv.URL)
			}
			bareB, bareAllocs := heapPerCall(b, pair, srv.URL)
			rtB, rtAllocs := heapPerCall(b, rt, srv.URL)
			bareCPU, rtCPU := cpuPerCall(b, pair, rt, srv.URL)
			call := func(rt http.RoundTripper) time.Duration {
				t0 := time.Now()
				roundTrip(b, rt, srv.URL)
				return time.Since(t0)
			}
			mb, ms := pairbench.Loop(b, func() time.Duration { return call(pair) }, func() time.Duration { return call(rt) },
				func(i int) {
					if i%4096 == 4095 {
						reset()
					}
				})
			b.ReportMetric(float64(mb), "bare-ns/call")
			b.ReportMetric(float64(ms), "ns/call")
			b.ReportMetric(float64(ms)/float64(mb), "x-bare")
			b.ReportMetric(bareCPU, "bare-cpu-ns/call")
			b.ReportMetric(rtCPU, "cpu-ns/call")
			b.ReportMetric(bareB, "bare-B/call")
			b.ReportMetric(rtB, "B/call")
			b.ReportMetric(bareAllocs, "bare-allocs/call")
			b.ReportMetric(rtAllocs, "allocs/call")
		})
	}
}

// heapPerCall returns the heap bytes and objects allocated per call
// through rt over 500 calls, the in-process server's included (it serves
// every set-up alike).
func heapPerCall(b *testing.B, rt http.RoundTripper, url string) (bytes, objects float64) {
	const n = 500
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for range n {
		roundTrip(b, rt, url)
	}
	runtime.ReadMemStats(&m1)
	return float64(m1.TotalAlloc-m0.TotalAlloc) / n, float64(m1.Mallocs-m0.Mallocs) / n
}

// cpuPerCall returns the process CPU time (client, in-process server and
// runtime) per call through bare and through rt, over ten alternating
// blocks of 100 calls. It is counted outside the timed, paired loop:
// getrusage around every call costs 3–4 µs in this process, a few percent
// of a call, and its own system time would count as the call's.
func cpuPerCall(b *testing.B, bare, rt http.RoundTripper, url string) (bareNs, rtNs float64) {
	const blocks, n = 10, 100
	var cpu [2]time.Duration
	for k := range blocks {
		side := k % 2
		t := [2]http.RoundTripper{bare, rt}[side]
		c0 := cpuTime()
		for range n {
			roundTrip(b, t, url)
		}
		cpu[side] += cpuTime() - c0
	}
	per := float64(blocks / 2 * n)
	return float64(cpu[0]) / per, float64(cpu[1]) / per
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
