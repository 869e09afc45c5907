package bench

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/llmtest"
)

// The outage scenario: steady traffic, then every request answered 529
// for outageLength, then health again. The real incident lasts about 30 s;
// here it is compressed ten times to outageLength.
const (
	outageBefore  = 1500 * time.Millisecond
	outageLength  = 30 * time.Second / outageCompression
	outageAfter   = 3 * time.Second
	outageWorkers = 20
	outageLatency = 20 * time.Millisecond
	// outageCompression is how many times shorter the outage is than the
	// real incident's 30 s; sluice's breaker window and break shrink alike.
	outageCompression = 10
)

// BenchmarkOutage runs outageWorkers workers calling the fake in a loop
// through each client set-up while the fake has a 529 outage in the middle
// of the run (run it with -benchtime=1x).
func BenchmarkOutage(b *testing.B) {
	for _, s := range breakerSetups() {
		b.Run(s.name, func(b *testing.B) {
			if s.opts == nil {
				b.Skip("pending: transport.New not on main")
			}
			for b.Loop() {
				runOutage(b, s)
			}
		})
	}
}

func runOutage(b *testing.B, s clientSetup) {
	srv := llmtest.NewServer(llmtest.Config{Latency: outageLatency})
	defer srv.Close()
	blog := &breakerLog{}
	c, closeIdle, sends := newClient(s, srv.URL, scenario{window: time.Minute, rps: 10_000, outage: true, log: blog})
	defer closeIdle()

	stop := make(chan struct{})
	var (
		mu          sync.Mutex
		calls, fail int
		wg          sync.WaitGroup
	)
	j := workload(1)[0]
	j.stream = false
	for range outageWorkers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				err := j.do(ctx, c)
				cancel()
				mu.Lock()
				calls++
				if err != nil {
					fail++
				}
				mu.Unlock()
			}
		})
	}
	time.Sleep(outageBefore) // the scenario's timeline, not a wait for a condition
	outStart := time.Now()
	srv.StartOutage(outageLength, 529)
	outEnd := outStart.Add(outageLength)
	time.Sleep(outageLength + outageAfter)
	close(stop)
	wg.Wait()

	var during, recovered, whileOpen int64
	recovery := time.Duration(-1)
	for _, t := range sends.times() {
		if blog.openAt(t) {
			whileOpen++
		}
	}
	for _, r := range srv.Requests() {
		switch {
		case r.Time.Before(outStart):
		case r.Time.Before(outEnd):
			during++
		case r.Status == 200:
			recovered++
			if d := r.Time.Sub(outEnd); recovery < 0 || d < recovery {
				recovery = d
			}
		}
	}
	st := srv.Stats()
	b.ReportMetric(float64(calls), "calls")
	b.ReportMetric(float64(fail), "failed")
	b.ReportMetric(float64(st.ByStatus[529]), "529s")
	b.ReportMetric(float64(during), "outage-arrivals")
	b.ReportMetric(float64(during)/outageLength.Seconds(), "outage-arrivals/s")
	b.ReportMetric(float64(recovery.Milliseconds()), "recovery-ms")
	b.ReportMetric(float64(recovered), "200s-after")
	if strings.HasPrefix(s.name, "sluice") {
		b.ReportMetric(float64(whileOpen), "open-arrivals")
		b.ReportMetric(float64(blog.opens()), "breaker-opens")
	}
}
