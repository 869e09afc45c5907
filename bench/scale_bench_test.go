package bench

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const scaleWaiters = 10_000

// goroutineQueue is the baseline: a goroutine parked on its context and
// nothing else, so "limiter minus baseline" is what the limiter itself
// costs per waiter.
type goroutineQueue struct{ n atomic.Int64 }

func (q *goroutineQueue) Hold(context.Context) (func(), error) { return func() {}, nil }
func (q *goroutineQueue) Wait(ctx context.Context) error {
	q.n.Add(1)
	defer q.n.Add(-1)
	<-ctx.Done()
	return ctx.Err()
}
func (q *goroutineQueue) Queued() int { return int(q.n.Load()) }
func (q *goroutineQueue) Close()      {}

// BenchmarkWaiters10k queues scaleWaiters callers behind a held slot,
// measures the memory (heap + goroutine stacks) per waiter, then cancels
// them all at once and measures how long until every one has returned.
func BenchmarkWaiters10k(b *testing.B) {
	cases := []struct {
		name string
		q    func() waitQueue
	}{
		{"goroutine-baseline", func() waitQueue { return &goroutineQueue{} }},
		{"limiter", newLimiterQueue},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if c.q == nil {
				b.Skip("pending: limiter not on main")
			}
			var perWaiter, cancelNs float64
			for b.Loop() {
				pw, cn := queueWaiters(b, c.q())
				perWaiter, cancelNs = max(perWaiter, pw), max(cancelNs, cn)
			}
			b.ReportMetric(perWaiter, "B/waiter")
			b.ReportMetric(cancelNs/1e6, "cancel-all-ms")
		})
	}
}

func queueWaiters(b *testing.B, q waitQueue) (bytesPerWaiter, cancelNs float64) {
	defer q.Close()
	mem := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapAlloc + m.StackInuse
	}
	release, err := q.Hold(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer release()
	before := mem()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for range scaleWaiters {
		wg.Go(func() { _ = q.Wait(ctx) })
	}
	deadline := time.Now().Add(time.Minute)
	for q.Queued() < scaleWaiters {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d callers queued", q.Queued(), scaleWaiters)
		}
		time.Sleep(time.Millisecond)
	}
	after := mem()
	t0 := time.Now()
	cancel()
	wg.Wait()
	cancelNs = float64(time.Since(t0).Nanoseconds())
	if n := q.Queued(); n != 0 {
		b.Fatalf("%d callers still queued after cancel", n)
	}
	return float64(after-before) / scaleWaiters, cancelNs
}
