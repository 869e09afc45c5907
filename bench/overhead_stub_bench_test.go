package bench

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/pairbench"
	"github.com/sluicehq/sluice/transport"
)

// stubRT answers every request in memory with the response messageHandler
// sends (headers, 1 KB JSON body), after draining the request body as a
// transport would.
type stubRT struct{ header http.Header }

func newStubRT() stubRT {
	rec := httptest.NewRecorder()
	messageHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/messages", bytes.NewReader(requestJSON)))
	h := rec.Result().Header
	// The stub answers some 100 000 calls a second, which would drain
	// messageHandler's quota of 10⁸ a minute within seconds: give it one
	// no benchmark can exhaust, with the same headers to parse.
	for k, v := range h {
		if strings.HasSuffix(k, "-Limit") || strings.HasSuffix(k, "-Remaining") {
			v[0] = "1000000000000000"
		}
	}
	return stubRT{header: h}
}

func (s stubRT) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusOK, Header: s.header, ContentLength: int64(len(messageJSON)),
		Body: io.NopCloser(bytes.NewReader(messageJSON)), Request: r}, nil
}

// BenchmarkOverheadStub measures sluice's own work per call, the figures
// its budget is stated in: each row of BenchmarkOverhead over an in-memory
// transport instead of loopback (no network, no server), against that
// transport alone. The budget, judged on "us-above-bare/call" and
// "allocs-above-bare/call":
//
//	full stack, no-op telemetry (sluice-noop):          ≤ 6 µs and ≤ 12 allocations per call above bare
//	full stack, recording telemetry (sluice-recording): ≤ 30 µs per call above bare
//
// sluice-global, for information, is the full stack with no telemetry
// options, on OpenTelemetry's global providers with no SDK installed:
// what an application that never set up OpenTelemetry pays.
//
// Each iteration makes one call through a bare stub of its own and one
// through the set-up, in alternating order (pairbench), so the load of the
// moment hits both alike; "us-above-bare/call" is the difference of the
// medians of the two sides' own wall times. "allocs-above-bare/call" is the
// difference of the heap objects per call of the two, counted over calls
// made before the timed loop; "cpu-us-above-bare/call" the difference of
// the process CPU time per call (cpuAboveBare), which counts the garbage
// collector's work that a median call escapes. The "bare" row pairs the
// stub with another: the method's own bias. ns/op is the pair. The rows
// start at BENCH_ROUND (rotate), as BenchmarkOverhead's do.
func BenchmarkOverheadStub(b *testing.B) {
	const url = "http://api.test"
	nop := func() {}
	cases := slices.Insert(overheadCases(), 3, overheadCase{"sluice-global", func(base http.RoundTripper) (http.RoundTripper, func(), func()) {
		return transport.New(base), nop, nop
	}})
	for _, c := range rotate(cases) {
		b.Run(c.name, func(b *testing.B) {
			if c.build == nil {
				b.Skip("pending: layer not on main")
			}
			bare := newStubRT()
			rt, reset, done := c.build(newStubRT())
			defer done()
			defer closeRT(rt)
			for range 200 {
				roundTrip(b, bare, url)
				roundTrip(b, rt, url)
			}
			_, bareAllocs := heapPerCall(b, bare, url)
			_, rtAllocs := heapPerCall(b, rt, url)
			cpu := cpuAboveBare(b, bare, rt, url)
			reset()
			call := func(rt http.RoundTripper) time.Duration {
				t0 := time.Now()
				roundTrip(b, rt, url)
				return time.Since(t0)
			}
			mb, ms := pairbench.Loop(b, func() time.Duration { return call(bare) }, func() time.Duration { return call(rt) },
				func(i int) {
					if i%4096 == 4095 {
						reset()
					}
				})
			b.ReportMetric(float64(ms-mb)/1e3, "us-above-bare/call")
			b.ReportMetric(cpu.Seconds()*1e6, "cpu-us-above-bare/call")
			b.ReportMetric(rtAllocs-bareAllocs, "allocs-above-bare/call")
		})
	}
}

// cpuAboveBare returns the median, over 20 pairs of blocks of 200 calls
// (the bare block first in even pairs, second in odd ones), of the
// difference of the process CPU time per call through rt and through bare.
func cpuAboveBare(b *testing.B, bare, rt http.RoundTripper, url string) time.Duration {
	const pairs, n = 20, 200
	block := func(t http.RoundTripper) time.Duration {
		c0 := cpuTime()
		for range n {
			roundTrip(b, t, url)
		}
		return (cpuTime() - c0) / n
	}
	d := make([]time.Duration, pairs)
	for i := range d {
		if i%2 == 0 {
			cb := block(bare)
			d[i] = block(rt) - cb
		} else {
			cr := block(rt)
			d[i] = cr - block(bare)
		}
	}
	return pairbench.Median(d)
}
