package bench

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/llmtest"
)

// The goodput scenario: a quota well below demand, compressed from a
// minute to goodputWindow so the run takes seconds.
const (
	goodputWindow  = time.Second
	goodputCalls   = 280
	goodputWorkers = 40
	goodputLatency = 30 * time.Millisecond
)

var goodputQuota = llmtest.Quota{Requests: 40, InputTokens: 35_000, OutputTokens: 10_000}

// goodputOutput is how many tokens the fake generates: a quarter of
// max_tokens, so the limiter's max_tokens reservation must be settled.
func goodputOutput(_ string, _, maxTokens int) int { return max(maxTokens/4, 1) }

// theoreticalMin is the shortest time in which any client could complete
// jobs under q: buckets start full and refill at capacity per window, so
// each bucket needs (demand − capacity) / rate, and the last call still
// takes one latency after it is admitted.
func theoreticalMin(jobs []job, q llmtest.Quota, window, latency time.Duration) time.Duration {
	var in, out float64
	for _, j := range jobs {
		in += float64(j.inputTokens())
		out += float64(goodputOutput("", 0, int(j.maxTokens)))
	}
	need := func(demand float64, capacity int) time.Duration {
		if capacity <= 0 || demand <= float64(capacity) {
			return 0
		}
		return time.Duration((demand - float64(capacity)) / float64(capacity) * float64(window))
	}
	return max(need(float64(len(jobs)), q.Requests), need(in, q.InputTokens), need(out, q.OutputTokens)) + latency
}

// BenchmarkGoodput drives goodputCalls calls from goodputWorkers workers
// through the real anthropic-sdk-go under a quota well below demand, once
// per client set-up (run it with -benchtime=1x).
func BenchmarkGoodput(b *testing.B) {
	jobs := workload(goodputCalls)
	minWall := theoreticalMin(jobs, goodputQuota, goodputWindow, goodputLatency)
	for _, s := range clientSetups() {
		b.Run(s.name, func(b *testing.B) {
			if s.opts == nil {
				b.Skip("pending: transport.New not on main")
			}
			for b.Loop() {
				srv := llmtest.NewServer(llmtest.Config{
					Window:           goodputWindow,
					Quota:            goodputQuota,
					OutputTokens:     goodputOutput,
					Latency:          goodputLatency,
					StreamEventDelay: time.Millisecond,
				})
				c, closeIdle, _ := newClient(s, srv.URL, scenario{window: goodputWindow, rps: uint(float64(goodputQuota.Requests) / goodputWindow.Seconds())})
				out := runJobs(c, jobs, goodputWorkers, 2*time.Minute)
				st := srv.Stats()
				closeIdle()
				srv.Close()

				b.ReportMetric(float64(out.failed), "failed")
				b.ReportMetric(float64(st.RateLimited), "429s")
				b.ReportMetric(100*float64(st.RateLimited)/float64(len(jobs)), "429s-%calls")
				b.ReportMetric(float64(st.HerdArrivals), "herd")
				b.ReportMetric(float64(st.Arrivals), "attempts")
				b.ReportMetric(out.wall.Seconds(), "wall-s")
				b.ReportMetric(minWall.Seconds(), "min-s")
				b.ReportMetric(float64(out.wall)/float64(minWall), "wall/min")
				b.ReportMetric(float64(percentile(out.latencies, 50).Milliseconds()), "p50-ms")
				b.ReportMetric(float64(percentile(out.latencies, 99).Milliseconds()), "p99-ms")
			}
		})
	}
}
