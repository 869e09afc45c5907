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
// workers through the real anthropic-sdk-go against the degraded fake, once
// per client set-up (run it with -benchtime=1x).
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
				srv := llmtest.NewServer(llmtest.Config{Latency: chaosLatency, Seed: 20260601, Faults: chaosFaults()})
				blog := &breakerLog{}
				c, closeIdle, _ := newClient(s, srv.URL, scenario{window: time.Minute, rps: 10_000, log: blog})
				out := runJobs(c, jobs, chaosWorkers, time.Minute)
				st := srv.Stats()
				closeIdle()
				srv.Close()
				b.ReportMetric(float64(out.failed), "failed")
				b.ReportMetric(float64(st.Arrivals), "attempts")
				b.ReportMetric(out.wall.Seconds(), "wall-s")
				b.ReportMetric(float64(percentile(out.latencies, 50).Milliseconds()), "p50-ms")
				b.ReportMetric(float64(percentile(out.latencies, 99).Milliseconds()), "p99-ms")
				if strings.HasPrefix(s.name, "sluice") {
					b.ReportMetric(float64(blog.opens()), "breaker-opens")
				}
				if os.Getenv("CHAOS_VERBOSE") != "" {
					b.Logf("%s: by status %v, resets %d", s.name, st.ByStatus, st.Resets)
				}
			}
		})
	}
}
