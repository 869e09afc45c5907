package main

import (
	"strings"
	"testing"
)

// §6 reports metering's cost, absolute and relative, as information; of its
// figures only the allocations per SSE event are a target.
func TestMeteringIsInformation(t *testing.T) {
	r := reportOf(t, map[string]string{
		// Three runs of +6, +4 and +5 µs (+6, +2 and +5 %): the medians of
		// each run's own pair, not the difference of the sides' medians.
		fileMeteringRaw: `pkg: github.com/sluicehq/sluice/internal/usage
BenchmarkHTTP/json-10KB-2  10000  210000 ns/op  6 added-%  100000 bare-ns/call  106000 metered-ns/call  150000 bare-cpu-ns/call  159000 metered-cpu-ns/call
BenchmarkHTTP/json-10KB-2  10000  210000 ns/op  2 added-%  200000 bare-ns/call  204000 metered-ns/call  250000 bare-cpu-ns/call  255000 metered-cpu-ns/call
BenchmarkHTTP/json-10KB-2  10000  210000 ns/op  5 added-%  100000 bare-ns/call  105000 metered-ns/call  150000 bare-cpu-ns/call  156000 metered-cpu-ns/call
`,
		fileModules: `pkg: github.com/sluicehq/sluice/internal/usage
BenchmarkJSON10KB/bare-2  5000000  250 ns/op  16 B/op  1 allocs/op
BenchmarkJSON10KB/metered-2  700000  1650 ns/op  96 B/op  3 allocs/op
BenchmarkSSE1000Events/anthropic/bare-2  500000  2600 ns/op  16 B/op  1 allocs/op
BenchmarkSSE1000Events/anthropic/metered-2  200000  6900 ns/op  96 B/op  3 allocs/op
`,
	})
	var b strings.Builder
	r.writeMetering(&b)
	out := b.String()
	for _, w := range []string{
		"| 10 KB JSON | raw over loopback | 100 000 | 106 000 | +5.0 | +5.0 % | 150 000 | 159 000 | +4.0 % | n/a | n/a |",
		"| 10 KB JSON | in memory | 250 | 1 650 | +1.4 | +560.0 % | n/a | n/a | n/a | 16 → 96 | 1 → 3 |",
		"| 1 000-event stream | through the SDK | " + pending,
		"parsed forward as it passes",
		"3 allocs for 1 000 events, 3 for one JSON body — **met**",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("missing %q in\n%s", w, out)
		}
	}
	for _, bad := range []string{"5 %:", "under 5", "skim", "every byte parsed"} {
		if strings.Contains(out, bad) {
			t.Errorf("%q in\n%s", bad, out)
		}
	}
	if n := strings.Count(out, "met**"); n != 1 {
		t.Errorf("%d verdicts, want the allocations' alone:\n%s", n, out)
	}
}
