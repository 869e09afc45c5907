package main

import (
	"os"
	"strings"
	"testing"
)

// testdata/neverworse.txt is one run of
// `cd examples && go test -run '^$' -bench NeverWorse -benchtime=1x ./neverworse`,
// its random-fault scenarios played over 3 seeds.
func TestNeverWorseReadsTheSuitesOutput(t *testing.T) {
	raw, err := os.ReadFile("testdata/neverworse.txt")
	if err != nil {
		t.Fatal(err)
	}
	r := reportOf(t, map[string]string{fileNeverWorse: string(raw)})
	var b strings.Builder
	r.writeNeverWorse(&b)
	out := b.String()
	for _, w := range []string{
		"| quota (Anthropic) | 120 | 0 | 0 | 103 | 0 | 223 | 120 | 6.73 s | 6.36 s | 6.00 s | 0.94× |",
		"| outage (2 s of 529s) | 1 200 | 0 | 0 | 0 | 0 | 1 260 | 1 214 | 6.19 s | 6.60 s | – | 1.07× |",
		// Totals over the seeds: 3 × 500 calls.
		"| chaos | 1 500 | 1 | 0 | 0 | 0 | 1 804 | 1 805 | 21.09 s | 15.35 s | – | 0.73× (SDK failed calls) |",
		"| heavy degradation | 1 500 | 3 | 0 | 0 | 0 | 2 158 | 2 163 | 35.42 s | 55.66 s | – | 1.57× (SDK failed calls) |",
		"| hard quota (spend limit) | 20 | 20 | 20 | 100 | 20 | 100 | 20 | 8.10 s | 4.15 ms | – | 0.00× (SDK failed calls) |",
		"- sluice fails no call more than the bare SDK, in every scenario: none worse — **met**",
		"- wall time ≤ 1.10× the SDK's where the SDK completes every call: all within — **met**",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("missing %q in\n%s", w, out)
		}
	}
	if n := strings.Count(out, "\n| ") - 1; n != 9 {
		t.Errorf("%d scenario rows, want 9:\n%s", n, out)
	}
}

// completed-wall-ratio, where the suite reports it, is what the wall-time
// target judges: the seeds in which the SDK completed every call.
func TestNeverWorseJudgesCompletedSeeds(t *testing.T) {
	const raw = `BenchmarkNeverWorse/chaos-2 1 1 ns/op 1500 calls 1 sdk-failed 0 sluice-failed 20 sdk-s 25 sluice-s 1.25 wall-ratio 0.95 completed-wall-ratio
BenchmarkNeverWorse/heavy-2 1 1 ns/op 1500 calls 3 sdk-failed 0 sluice-failed 20 sdk-s 30 sluice-s 1.5 wall-ratio 0 completed-wall-ratio
BenchmarkNeverWorse/slow-2 1 1 ns/op 100 calls 0 sdk-failed 0 sluice-failed 10 sdk-s 12 sluice-s 1.2 wall-ratio 1.2 completed-wall-ratio
`
	r := reportOf(t, map[string]string{fileNeverWorse: raw})
	var b strings.Builder
	r.writeNeverWorse(&b)
	out := b.String()
	for _, w := range []string{
		"1.25× (0.95× where the SDK failed none) |",
		"1.50× (the SDK failed calls in every seed) |",
		"| 1.20× |",
		"above in slow 1.20× — **NOT met**",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("missing %q in\n%s", w, out)
		}
	}
}

func TestNeverWorseJudgesEachScenario(t *testing.T) {
	r := reportOf(t, map[string]string{fileNeverWorse: `pkg: github.com/sluicehq/sluice/examples/neverworse
BenchmarkNeverWorse/quota_(Anthropic)-2  1  13088476526 ns/op  120.0 calls  6.000 min-s  103.0 sdk-429s  223.0 sdk-arrivals  0 sdk-failed  6.000 sdk-s  0 sluice-429s  120.0 sluice-arrivals  0 sluice-failed  6.900 sluice-s  1.150 wall-ratio
BenchmarkNeverWorse/chaos-2  1  36446769102 ns/op  1500 calls  0 min-s  0 sdk-429s  1804 sdk-arrivals  1.000 sdk-failed  21.09 sdk-s  0 sluice-429s  1805 sluice-arrivals  2.000 sluice-failed  15.35 sluice-s  0.7280 wall-ratio
`})
	var b strings.Builder
	r.writeNeverWorse(&b)
	for _, w := range []string{
		"- sluice fails no call more than the bare SDK, in every scenario: worse in chaos — **NOT met**",
		"- wall time ≤ 1.10× the SDK's where the SDK completes every call: above in quota (Anthropic) 1.15× — **NOT met**",
	} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("missing %q in\n%s", w, b.String())
		}
	}
}
