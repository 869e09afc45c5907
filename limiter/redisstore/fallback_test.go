package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/limiter"
	"github.com/sluicehq/sluice/limiter/redisstore"
	"github.com/sluicehq/sluice/limiter/redisstore/redistest"
	"github.com/sluicehq/sluice/telemetry"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// syncBuffer is a log sink safe for the probe goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func counterSum(t *testing.T, rd *sdkmetric.ManualReader, name string) int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := rd.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				n += dp.Value
			}
		}
	}
	return n
}

func TestKilledRedisFallsBackToLocalShareAndRecovers(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newClient(t, srv)
	var logs syncBuffer
	rd := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(rd))
	t.Cleanup(func() { mp.Shutdown(context.Background()) })
	st := newStore(t, rdb, redisstore.WithReplicas(4), redisstore.WithProbeInterval(20*time.Millisecond),
		redisstore.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
		redisstore.WithTelemetry(telemetry.WithMeterProvider(mp)))
	p := policy(time.Hour, limiter.Limits{Requests: 40})
	reserve(t, st, "k", limiter.Cost{1}, p)

	srv.Kill()
	// Local mode: a quarter of the quota (10) holding a quarter of what was
	// left in Redis (39): 9 requests.
	start := time.Now()
	for i := range 9 {
		if d := reserve(t, st, "k", limiter.Cost{1}, p); !d.OK {
			t.Fatalf("local reserve %d denied: %+v", i, d)
		}
	}
	if d := reserve(t, st, "k", limiter.Cost{1}, p); d.OK || d.State.Buckets[limiter.Requests].Limit != 10 {
		t.Fatalf("10th local reserve: OK=%v limit %d, want denied under a local limit of 10", d.OK, d.State.Buckets[limiter.Requests].Limit)
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("falling back took %v, want under a second", el)
	}
	if st.Shared() {
		t.Fatal("store still claims shared mode with Redis dead")
	}
	if n := counterSum(t, rd, telemetry.MetricRedisStoreFallbacks); n < 10 {
		t.Fatalf("%s = %d, want at least 10", telemetry.MetricRedisStoreFallbacks, n)
	}
	if n := strings.Count(logs.String(), "redis unavailable"); n != 1 {
		t.Fatalf("logged the outage %d times, want once:\n%s", n, logs.String())
	}

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "shared mode", st.Shared)
	// The restarted Redis is empty: the shared bucket is full again.
	d := reserve(t, st, "k", limiter.Cost{1}, p)
	if !d.OK || d.State.Buckets[limiter.Requests].Limit != 40 {
		t.Fatalf("after recovery: %+v, want the shared limit of 40", d)
	}
	if n := counterSum(t, rd, telemetry.MetricRedisStoreTransitions); n != 2 {
		t.Fatalf("%d transitions, want 2", n)
	}
	if !strings.Contains(logs.String(), "available again") {
		t.Fatalf("recovery not logged:\n%s", logs.String())
	}
}

func TestHungRedisIsBoundedByTimeout(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newClient(t, srv)
	st := newStore(t, rdb, redisstore.WithTimeout(50*time.Millisecond), redisstore.WithProbeInterval(20*time.Millisecond))
	p := policy(time.Minute, limiter.Limits{Requests: 100})
	reserve(t, st, "k", limiter.Cost{1}, p)

	srv.Pause()
	start := time.Now()
	d := reserve(t, st, "k", limiter.Cost{1}, p)
	if el := time.Since(start); el > 500*time.Millisecond {
		t.Fatalf("reserve against a hung Redis took %v, want about the 50ms timeout", el)
	}
	if !d.OK || st.Shared() {
		t.Fatalf("reserve against a hung Redis: OK=%v shared=%v, want served locally", d.OK, st.Shared())
	}
	// Later operations do not wait for Redis at all.
	start = time.Now()
	for range 20 {
		reserve(t, st, "k", limiter.Cost{1}, p)
	}
	if el := time.Since(start); el > 200*time.Millisecond {
		t.Fatalf("20 local reserves took %v", el)
	}
	srv.Resume()
	waitFor(t, 5*time.Second, "shared mode", st.Shared)
}

func TestFailureModes(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newClient(t, srv)
	closed := newStore(t, rdb, redisstore.WithFailureMode(redisstore.FailClosed))
	open := newStore(t, rdb, redisstore.WithFailureMode(redisstore.FailOpen))
	p := policy(time.Hour, limiter.Limits{Requests: 1})
	srv.Kill()
	ctx := context.Background()

	if _, err := closed.Reserve(ctx, "k", limiter.Cost{1}, p, time.Now()); !errors.Is(err, redisstore.ErrUnavailable) {
		t.Fatalf("FailClosed reserve: %v, want ErrUnavailable", err)
	}
	for i := range 5 {
		if d := reserve(t, open, "k", limiter.Cost{1}, p); !d.OK {
			t.Fatalf("FailOpen reserve %d denied: %+v", i, d)
		}
	}
	// FailOpen still honours a cool-down.
	if err := open.Cooldown(ctx, "k", time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if d := reserve(t, open, "k", limiter.Cost{1}, p); d.OK || d.Reason != limiter.ReasonCooldown {
		t.Fatalf("FailOpen reserve during a cool-down: %+v", d)
	}
}

func TestLocalModeAdmitsOversizeRequestIntoDebt(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newClient(t, srv)
	st := newStore(t, rdb, redisstore.WithReplicas(4))
	p := policy(time.Hour, limiter.Limits{InputTokens: 1000})
	srv.Kill()
	// 600 fits the quota (1000) but not the local share (250).
	d, err := st.Reserve(context.Background(), "k", limiter.Cost{1, 600, 0, 0}, p, time.Now())
	if err != nil || !d.OK {
		t.Fatalf("reserve: %+v %v", d, err)
	}
	if lvl := d.State.Buckets[limiter.InputTokens].Level; lvl != -350 {
		t.Fatalf("level = %v, want the share (250) less 600: -350", lvl)
	}
	// The share is spent: a request larger than the quota waits for it to
	// be full again (an hour's window) rather than fail.
	if d, err := st.Reserve(context.Background(), "k", limiter.Cost{1, 1001, 0, 0}, p, time.Now()); err != nil || d.OK || d.Reason != limiter.ReasonFor(limiter.InputTokens) {
		t.Fatalf("reserve larger than the quota: %+v %v, want a wait for input_tokens", d, err)
	}
}

func TestCallerContextErrorIsNotAnOutage(t *testing.T) {
	srv := redistest.Start(t)
	st := newStore(t, newClient(t, srv))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := st.Reserve(ctx, "k", limiter.Cost{1}, policy(time.Minute, limiter.Limits{Requests: 1}), time.Now())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if !st.Shared() {
		t.Fatal("a canceled caller switched the store to local mode")
	}
}
