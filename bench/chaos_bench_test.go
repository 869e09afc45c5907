package bench

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/llmtest"
)

// The chaos scenario: an API that is degraded, not down — one attempt in
// ten a 529, one in twenty a 500, one in twenty a reset connection — which
// retries ride through. Every set-up should finish every call; the
// question is how fast.
const (
	chaosCalls   = 500
	chaosWorkers = 20
	// chaosSeeds is how many seeds of the faults each set-up plays.
	chaosSeeds   = 3
	chaosLatency = 20 * time.Millisecond
)

// chaosFaults is the mix; CHAOS_FAULT_SCALE (default 1) multiplies every
// probability, e.g. 1.5 for 30 % of attempts failing.
func chaosFaults() []llmtest.Fault {
	scale := 1.0
	if v, err := strconv.ParseFloat(os.Getenv("CHAOS_FAULT_SCALE"), 64); err == nil && v > 0 {
		scale = v
	}
	return []llmtest.Fault{
		{Kind: llmtest.FaultStatus, Status: 529, Probability: 0.10 * scale},
		{Kind: llmtest.FaultStatus, Status: 500, Probability: 0.05 * scale},
		{Kind: llmtest.FaultReset, Probability: 0.05 * scale},
	}
}

// BenchmarkChaos drives chaosCalls non-streaming calls from chaosWorkers
// workers through the real anthropic-sdk-go against the degraded fake, for
// each of chaosSeeds seeds of its faults, once per client set-up (run it
// with -benchtime=1x); the figures are totals over the seeds.
func BenchmarkChaos(b *testing.B) {
	jobs := workload(chaosCalls)
	for i := range jobs {
		jobs[i].stream = false
	}
	for _, s := range breakerSetups() {
		b.Run(s.name, func(b *testing.B) {
			if s.opts == nil {
				b.Skip("pending: transport.New not on main")
			}
			for b.Loop() {
				// One seed's faults fall where they fall: the last call
				// left may meet a run of them that sets the wall time
				// alone. The figures are totals over chaosSeeds seeds.
				var (
					failed, attempts, opens int64
					wall                    time.Duration
					latencies               []time.Duration
				)
				for k := range chaosSeeds {
					srv := llmtest.NewServer(llmtest.Config{Latency: chaosLatency, Seed: 20260601 + int64(k), Faults: chaosFaults()})
					blog := &breakerLog{}
					c, closeIdle, _ := newClient(s, srv.URL, scenario{window: time.Minute, rps: 10_000, log: blog})
					out := runJobs(c, jobs, chaosWorkers, time.Minute)
					st := srv.Stats()
					closeIdle()
					srv.Close()
					failed += int64(out.failed)
					attempts += st.Arrivals
					wall += out.wall
					latencies = append(latencies, out.latencies...)
					opens += int64(blog.opens())
					if os.Getenv("CHAOS_VERBOSE") != "" {
						b.Logf("%s seed %d: %.2f s, by status %v, resets %d", s.name, k, out.wall.Seconds(), st.ByStatus, st.Resets)
					}
				}
				b.ReportMetric(float64(failed), "failed")
				b.ReportMetric(float64(attempts), "attempts")
				b.ReportMetric(wall.Seconds(), "wall-s")
				b.ReportMetric(float64(percentile(latencies, 50).Milliseconds()), "p50-ms")
				b.ReportMetric(float64(percentile(latencies, 99).Milliseconds()), "p99-ms")
				if strings.HasPrefix(s.name, "sluice") {
					b.ReportMetric(float64(opens), "breaker-opens")
				}
			}
		})
	}
}
