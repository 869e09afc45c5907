package limiter_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/limiter"
)

// BenchmarkAcquireRelease measures an uncontended-to-contended acquire and
// release of one key with limits far above the load, at 1, 8 and 64
// goroutines.
func BenchmarkAcquireRelease(b *testing.B) {
	for _, g := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("goroutines=%d", g), func(b *testing.B) {
			l := limiter.New(limiter.WithLimits(limiter.Limits{Requests: 1 << 40, Tokens: 1 << 50}))
			defer l.Close()
			ctx := context.Background()
			req := limiter.Request{InputBytes: 4000, MaxOutputTokens: 1024}
			b.ReportAllocs()
			if g == 1 { // uncontended: one goroutine, not one per P
				for b.Loop() {
					r, err := l.Acquire(ctx, "k", req)
					if err != nil {
						b.Fatal(err)
					}
					r.Release()
				}
				return
			}
			b.SetParallelism(max(1, g/runtime.GOMAXPROCS(0)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r, err := l.Acquire(ctx, "k", req)
					if err != nil {
						b.Error(err)
						return
					}
					r.Release()
				}
			})
		})
	}
}

// BenchmarkQueuedWaiterBytes reports the heap bytes each of 10 000 queued
// waiters costs (goroutine stacks excluded: they are the caller's).
func BenchmarkQueuedWaiterBytes(b *testing.B) {
	const n = 10000
	for range b.N {
		l := limiter.New(limiter.WithConcurrency(1))
		holder, _ := l.Acquire(context.Background(), "k", limiter.Request{})
		ctx, cancel := context.WithCancel(context.Background())
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = l.Acquire(ctx, "k", limiter.Request{})
			}()
		}
		for l.StatsFor("k").Queued < n {
			time.Sleep(time.Millisecond)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heapB/waiter")
		b.ReportMetric(float64((after.StackInuse-before.StackInuse))/n, "stackB/waiter")
		cancel()
		wg.Wait()
		holder.Release()
		l.Close()
	}
}
