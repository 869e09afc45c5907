package transport

import (
	"testing"
	"time"
)

// BenchmarkLimitGoodput runs the goodput scenario (40 workers, 300 calls of
// varied size, a quota far below demand, a 1 s window) and reports wall
// time over the quota's theoretical minimum (target ≤ 1.10) and the 429s.
func BenchmarkLimitGoodput(b *testing.B) {
	for range b.N {
		srv, wall, ideal, failed := limitGoodput(b, 40, 300, time.Second)
		st := srv.Stats()
		srv.Close()
		b.ReportMetric(wall.Seconds()/ideal.Seconds(), "wall/ideal")
		b.ReportMetric(float64(st.RateLimited), "429s")
		b.ReportMetric(float64(failed), "failed")
	}
}
