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
			var m waiterCost
			for b.Loop() {
				w := queueWaiters(b, c.q())
				m.heap, m.stack, m.cancel = max(m.heap, w.heap), max(m.stack, w.stack), max(m.cancel, w.cancel)
			}
			b.ReportMetric(m.heap+m.stack, "B/waiter")
			b.ReportMetric(m.heap, "heap-B/waiter")
			b.ReportMetric(m.stack, "stack-B/waiter")
			b.ReportMetric(float64(m.cancel.Microseconds())/1e3, "cancel-all-ms")
		})
	}
}

// waiterCost is what one queued caller costs: live heap and goroutine
// stack bytes, and the time to cancel the whole queue.
type waiterCost struct {
	heap, stack float64
	cancel      time.Duration
}

func queueWaiters(b *testing.B, q waitQueue) waiterCost {
	defer q.Close()
	mem := func() (heap, stack float64) {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return float64(m.HeapAlloc), float64(m.StackInuse)
	}
	release, err := q.Hold(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer release()
	heap0, stack0 := mem()
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
	heap1, stack1 := mem()
	t0 := time.Now()
	cancel()
	wg.Wait()
	took := time.Since(t0)
	if n := q.Queued(); n != 0 {
		b.Fatalf("%d callers still queued after cancel", n)
	}
	return waiterCost{heap: (heap1 - heap0) / scaleWaiters, stack: (stack1 - stack0) / scaleWaiters, cancel: took}
}
