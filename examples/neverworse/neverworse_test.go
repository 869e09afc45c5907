package neverworse

import (
	"fmt"
	"strings"
	"testing"
)

// maxWallRatio is the target for sluice's wall time against the bare SDK's
// wherever the SDK completes every call: pacing that avoids 429s may cost
// a little, nothing else may.
const maxWallRatio = 1.10

// pair is one scenario run bare and through sluice.
type pair struct {
	s           scenario
	sdk, sluice result
}

// ratio is sluice's wall time over the SDK's.
func (p pair) ratio() float64 { return p.sluice.wall.Seconds() / p.sdk.wall.Seconds() }

// completedRatio is sluice's wall time over the SDK's, summed over the
// seeds in which the SDK completed every call (0: none did). Where the SDK
// fails a call after its fifth attempt, sluice goes on and completes it,
// which costs wall time the SDK did not spend; those seeds compare
// failures, not speed.
func (p pair) completedRatio() float64 {
	var sdk, sl float64
	for k, r := range p.sdk.seeds {
		if r.failed == 0 {
			sdk += r.wall.Seconds()
			sl += p.sluice.seeds[k].wall.Seconds()
		}
	}
	if sdk == 0 {
		return 0
	}
	return sl / sdk
}

// runPair runs the bare SDK first, then sluice; each gets a fresh server.
func runPair(s scenario) pair {
	return pair{s: s, sdk: run(s, true), sluice: run(s, false)}
}

func (p pair) String() string {
	return fmt.Sprintf("%-26s | SDK: %3d/%d failed, %4d 429s, %5.2f s | sluice: %3d failed, %4d 429s, %5.2f s | %.2f× | minimum %.2f s",
		p.s.name, p.sdk.failed, p.s.totalCalls(), p.sdk.st.RateLimited, p.sdk.wall.Seconds(),
		p.sluice.failed, p.sluice.st.RateLimited, p.sluice.wall.Seconds(), p.ratio(), p.sluice.minimum.Seconds())
}

// TestNeverWorse: in every scenario, sluice fails no call more than the
// bare SDK with 4 retries does. The wall-time ratio is a speed target and
// lives in BenchmarkNeverWorse; it is logged here.
func TestNeverWorse(t *testing.T) {
	var rows []string
	for _, s := range scenarios() {
		t.Run(strings.ReplaceAll(s.name, " ", "_"), func(t *testing.T) {
			p := runPair(s)
			rows = append(rows, p.String())
			t.Log(p)
			if p.sluice.failed > 0 {
				t.Logf("sluice's first error: %v", p.sluice.firstErr)
			}
			if p.sluice.failed > p.sdk.failed {
				t.Errorf("sluice failed %d calls, the bare SDK %d (sluice's first error: %v)", p.sluice.failed, p.sdk.failed, p.sluice.firstErr)
			}
			if r := p.completedRatio(); r > maxWallRatio {
				t.Logf("wall %.2f× the SDK's where it completed every call, above the %.2f× target (a benchmark target: BenchmarkNeverWorse)", r, maxWallRatio)
			}
		})
	}
	t.Log("\n" + strings.Join(rows, "\n"))
}

// BenchmarkNeverWorse runs each scenario bare and through sluice in one
// iteration (run it with -benchtime=1x) and reports both sides' failed
// calls, 429s served and wall time, the ratio of the wall times, and that
// ratio over the seeds in which the SDK completed every call (the target).
func BenchmarkNeverWorse(b *testing.B) {
	for _, s := range scenarios() {
		b.Run(strings.ReplaceAll(s.name, " ", "_"), func(b *testing.B) {
			var p pair
			for b.Loop() {
				p = runPair(s)
			}
			b.ReportMetric(float64(s.totalCalls()), "calls")
			b.ReportMetric(float64(p.sdk.failed), "sdk-failed")
			b.ReportMetric(float64(p.sluice.failed), "sluice-failed")
			b.ReportMetric(float64(p.sdk.st.RateLimited), "sdk-429s")
			b.ReportMetric(float64(p.sluice.st.RateLimited), "sluice-429s")
			b.ReportMetric(float64(p.sdk.st.Arrivals), "sdk-arrivals")
			b.ReportMetric(float64(p.sluice.st.Arrivals), "sluice-arrivals")
			b.ReportMetric(p.sdk.wall.Seconds(), "sdk-s")
			b.ReportMetric(p.sluice.wall.Seconds(), "sluice-s")
			b.ReportMetric(p.ratio(), "wall-ratio")
			b.ReportMetric(p.completedRatio(), "completed-wall-ratio")
			b.ReportMetric(p.sluice.minimum.Seconds(), "min-s")
		})
	}
}
