package redisstore_test

import (
	"context"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sluicehq/sluice/limiter"
	"github.com/sluicehq/sluice/limiter/redisstore"
	"github.com/sluicehq/sluice/limiter/redisstore/redistest"
)

// countHook counts the commands sent to Redis: every Process or
// ProcessPipeline call is one round trip.
type countHook struct{ n atomic.Int64 }

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}
func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// BenchmarkReserveSettle measures one reserve and one settle against a local
// redis-server: round trips per call, and p50/p99 of each.
func BenchmarkReserveSettle(b *testing.B) {
	srv := redistest.Start(b)
	rdb := newClient(b, srv)
	hook := &countHook{}
	rdb.AddHook(hook)
	st := newStore(b, rdb)
	p := policy(time.Second, limiter.Limits{Requests: 1 << 40, OutputTokens: 1 << 50})
	ctx := context.Background()
	c := limiter.Cost{1, 100, 1024, 1124}
	settle := limiter.Cost{0, 0, -1000, -1000}
	// Warm the script cache so the first EVALSHA miss is not counted.
	if _, err := st.Reserve(ctx, "bench", c, p, time.Now()); err != nil {
		b.Fatal(err)
	}
	hook.n.Store(0)
	res := make([]time.Duration, 0, b.N)
	adj := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		d, err := st.Reserve(ctx, "bench", c, p, t0)
		t1 := time.Now()
		if err != nil || !d.OK {
			b.Fatalf("reserve: %+v %v", d, err)
		}
		if err := st.Adjust(ctx, "bench", settle, p, t1); err != nil {
			b.Fatal(err)
		}
		res = append(res, t1.Sub(t0))
		adj = append(adj, time.Since(t1))
	}
	b.StopTimer()
	n := float64(len(res))
	b.ReportMetric(float64(hook.n.Load())/n, "roundtrips/call")
	b.ReportMetric(pct(res, 0.50), "reserve-p50-µs")
	b.ReportMetric(pct(res, 0.99), "reserve-p99-µs")
	b.ReportMetric(pct(adj, 0.50), "settle-p50-µs")
	b.ReportMetric(pct(adj, 0.99), "settle-p99-µs")
	if !st.Shared() {
		b.Fatal("store fell back to local mode during the benchmark")
	}
}

// BenchmarkThroughput measures the reserve+settle pairs per second one
// process pushes through the store with many goroutines on one key.
func BenchmarkThroughput(b *testing.B) {
	srv := redistest.Start(b)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), ContextTimeoutEnabled: true, PoolSize: 64})
	b.Cleanup(func() { rdb.Close() })
	st := newStore(b, rdb, redisstore.WithTimeout(time.Second))
	p := policy(time.Second, limiter.Limits{Requests: 1 << 40})
	ctx := context.Background()
	b.SetParallelism(16)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := st.Reserve(ctx, "bench", limiter.Cost{1, 10, 10, 20}, p, time.Now()); err != nil {
				b.Error(err)
				return
			}
			if err := st.Adjust(ctx, "bench", limiter.Cost{0, 0, -5, -5}, p, time.Now()); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
}

func pct(ds []time.Duration, q float64) float64 {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return float64(s[int(q*float64(len(s)-1))].Nanoseconds()) / 1e3
}
