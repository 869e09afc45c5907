package main

import (
	"fmt"
	"strings"
	"testing"
)

// reportOf is a report of raw files given as text, each with a command
// named after it.
func reportOf(t *testing.T, files map[string]string) *report {
	t.Helper()
	r := &report{commands: map[string]string{}, raw: map[string]*results{}}
	for f, text := range files {
		r.commands[f] = "command of " + f
		r.raw[f] = parse(strings.NewReader(text))
	}
	return r
}

// stubRound is one round of BenchmarkOverheadStub's full stacks, as go
// test prints it.
func stubRound(noopUs, noopCPU, noopAllocs, recUs, recCPU float64) string {
	return fmt.Sprintf(`pkg: github.com/sluicehq/sluice/bench
BenchmarkOverheadStub/bare-2  218719  4823 ns/op  0.002 allocs-above-bare/call  0.135 cpu-us-above-bare/call  -0.001 us-above-bare/call  2684 B/op  32 allocs/op
BenchmarkOverheadStub/sluice-noop-2  120609  9862 ns/op  %g allocs-above-bare/call  %g cpu-us-above-bare/call  %g us-above-bare/call  3918 B/op  42 allocs/op
BenchmarkOverheadStub/sluice-recording-2  31004  39822 ns/op  56.09 allocs-above-bare/call  %g cpu-us-above-bare/call  %g us-above-bare/call  20499 B/op  88 allocs/op
`, noopAllocs, noopCPU, noopUs, recCPU, recUs)
}

func TestBudgetJudgedOnTheMediansOfTheRounds(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rounds []string
		want   []string
	}{{
		name: "both met",
		// One round far out on each figure: the medians decide.
		rounds: []string{stubRound(3.6, 4.1, 10, 26, 29), stubRound(3.4, 4.0, 9.99, 24, 28), stubRound(9, 9, 14, 40, 45)},
		want: []string{
			"- full stack, no-op telemetry: ≤ 6 µs and ≤ 12 allocations per call above bare: 3.60 µs, 10 allocations (CPU time 4.10 µs) — **met**",
			"- full stack, recording telemetry: ≤ 30 µs per call above bare: 26.00 µs (CPU time 29.00 µs) — **met**",
			"| sluice-noop | `transport.New` full stack, OpenTelemetry no-op providers | 3.60 | 4.10 | 10 | 3 |",
			"| bare | the stub alone (paired with another: the method's bias) | 0.00 | 0.14 | 0.002 | 3 |",
			"| sluice-global | `transport.New` full stack, no telemetry options: OpenTelemetry's global providers, no SDK installed | " + pending,
		},
	}, {
		name:   "allocations above",
		rounds: []string{stubRound(3.6, 4.1, 13, 26, 29)},
		want: []string{
			"3.60 µs, 13 allocations (CPU time 4.10 µs) — above on allocations — **NOT met**",
		},
	}, {
		name:   "wall time above",
		rounds: []string{stubRound(6.5, 7, 10, 31, 35)},
		want: []string{
			"6.50 µs, 10 allocations (CPU time 7.00 µs) — above on wall time — **NOT met**",
			"31.00 µs (CPU time 35.00 µs) — above on wall time — **NOT met**",
		},
	}, {
		name:   "CPU time above, wall time within",
		rounds: []string{stubRound(3.6, 4.1, 10, 26, 33)},
		want: []string{
			"26.00 µs (CPU time 33.00 µs) — CPU time above the wall-time limit — **met**",
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r := reportOf(t, map[string]string{fileOverheadStub: strings.Join(tc.rounds, "PASS\n")})
			var b strings.Builder
			r.writeBudget(&b)
			out := b.String()
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("missing %q in\n%s", w, out)
				}
			}
			if !strings.Contains(out, "```\ncommand of "+fileOverheadStub+"\n```") {
				t.Errorf("the command is not shown:\n%s", out)
			}
		})
	}
}

func TestBudgetPendingWithoutItsRun(t *testing.T) {
	var b strings.Builder
	reportOf(t, nil).writeBudget(&b)
	for _, bu := range budgets {
		if w := "- " + bu.what + ": **" + pending + "**"; !strings.Contains(b.String(), w) {
			t.Errorf("missing %q in\n%s", w, b.String())
		}
	}
}

// The loopback table is information: its ratios are shown, not judged.
func TestLoopbackRatiosAreNotJudged(t *testing.T) {
	round := func(ratio float64) string {
		var s strings.Builder
		for _, row := range []string{"bare", "sluice-noop", "sluice-recording", "layer-retry", "retryablehttp", "failsafehttp"} {
			fmt.Fprintf(&s, "BenchmarkOverhead/%s-2  4000  300000 ns/op  19589 B/call  184.8 allocs/call  18450 bare-B/call  175.7 bare-allocs/call  100000 bare-cpu-ns/call  100000 bare-ns/call  %g cpu-ns/call  %g ns/call\n",
				row, 100000*ratio, 100000*ratio)
		}
		return s.String()
	}
	r := reportOf(t, map[string]string{fileOverhead: round(1.5) + round(1.6) + round(1.4)})
	var b strings.Builder
	r.writeLoopback(&b)
	out := b.String()
	for _, w := range []string{"Ratios (information):", "- full stack, no-op telemetry / bare: 1.50× (CPU time 1.50×)\n"} {
		if !strings.Contains(out, w) {
			t.Errorf("missing %q in\n%s", w, out)
		}
	}
	for _, bad := range []string{"met**", "1.10×", "1.30×", "Targets:"} {
		if strings.Contains(out, bad) {
			t.Errorf("the loopback section judges a target (%q):\n%s", bad, out)
		}
	}
}
