package redisstore_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sluicehq/sluice/limiter/redisstore"
	"github.com/sluicehq/sluice/limiter/redisstore/redistest"
	"github.com/sluicehq/sluice/transport"
)

var _ transport.BreakerVerdicts = (*redisstore.Store)(nil)

func TestBreakerVerdictIsShared(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newClient(t, srv)
	// No read cache: every OpenUntil below is a round trip.
	a, b := newStore(t, rdb, redisstore.WithVerdictCache(0)), newStore(t, rdb, redisstore.WithVerdictCache(0))
	ctx := context.Background()
	if u, err := b.OpenUntil(ctx, "api.anthropic.com m"); err != nil || !u.IsZero() {
		t.Fatalf("OpenUntil before any verdict = %v, %v", u, err)
	}
	until := time.Now().Add(2 * time.Second)
	if err := a.Open(ctx, "api.anthropic.com m", until); err != nil {
		t.Fatal(err)
	}
	if err := b.Open(ctx, "api.anthropic.com m", time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	u, err := b.OpenUntil(ctx, "api.anthropic.com m")
	if err != nil {
		t.Fatal(err)
	}
	if off := u.Sub(until); off < -50*time.Millisecond || off > 50*time.Millisecond {
		t.Fatalf("B sees the verdict end %v away from A's until", off)
	}
	srv.Kill()
	start := time.Now()
	if u, err := b.OpenUntil(ctx, "api.anthropic.com m"); err != nil || !u.IsZero() || time.Since(start) > time.Second {
		t.Fatalf("OpenUntil with Redis dead = %v, %v after %v; want no verdict, fast", u, err, time.Since(start))
	}
}

// countingScripter counts the scripts run, that is the round trips.
type countingScripter struct {
	redis.Scripter
	n atomic.Int64
}

func (c *countingScripter) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	c.n.Add(1)
	return c.Scripter.EvalSha(ctx, sha1, keys, args...)
}

func (c *countingScripter) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	c.n.Add(1)
	return c.Scripter.Eval(ctx, script, keys, args...)
}

// A closed breaker costs one round trip per key and cache interval, not
// one per call; a verdict published elsewhere is still seen, one interval
// late at most; a verdict published here is seen here at once.
func TestBreakerVerdictCache(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newClient(t, srv)
	cs := &countingScripter{Scripter: rdb}
	cached := newStore(t, cs, redisstore.WithVerdictCache(200*time.Millisecond))
	other := newStore(t, rdb, redisstore.WithVerdictCache(0))
	ctx := context.Background()
	if _, err := cached.OpenUntil(ctx, "warm-up"); err != nil { // loads the script
		t.Fatal(err)
	}
	cs.n.Store(0)
	for range 100 {
		if u, err := cached.OpenUntil(ctx, "k"); err != nil || !u.IsZero() {
			t.Fatalf("OpenUntil = %v, %v; want no verdict", u, err)
		}
	}
	if n := cs.n.Load(); n != 1 {
		t.Fatalf("100 reads cost %d round trips, want 1", n)
	}
	if err := other.Open(ctx, "k", time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitFor(t, 3*time.Second, "the other process's verdict", func() bool {
		u, err := cached.OpenUntil(ctx, "k")
		return err == nil && time.Until(u) > 4*time.Second
	})
	if late := time.Since(start); late > 2*time.Second {
		t.Fatalf("verdict seen %v late", late)
	}
	until := time.Now().Add(10 * time.Second)
	if err := cached.Open(ctx, "k2", until); err != nil {
		t.Fatal(err)
	}
	if u, err := cached.OpenUntil(ctx, "k2"); err != nil || u.Before(until.Add(-50*time.Millisecond)) {
		t.Fatalf("own verdict read back as %v, %v; want %v", u, err, until)
	}
}

// Two breaker layers on one Redis: a breaker opened by one holds the other's
// calls, while each keeps counting locally (calls stay concurrent).
func TestBreakerLayersShareVerdictThroughRedis(t *testing.T) {
	rs := redistest.Start(t)
	rdb := newClient(t, rs)
	var hits atomic.Int64
	var failing atomic.Bool
	failing.Store(true)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if failing.Load() {
			w.WriteHeader(529)
		}
	}))
	defer api.Close()
	settings := func(failFast bool) transport.BreakerSettings {
		return transport.BreakerSettings{MinRequests: 2, FailureRatio: 0.5, Break: 400 * time.Millisecond,
			Shared: newStore(t, rdb), FailFast: failFast}
	}
	a := transport.Breaker(api.Client().Transport, settings(false))
	b := transport.Breaker(api.Client().Transport, settings(true))
	post := func(rt http.RoundTripper) error {
		req, _ := http.NewRequest(http.MethodPost, api.URL+"/v1/messages", strings.NewReader(`{"model":"m"}`))
		resp, err := rt.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	for range 2 {
		_ = post(a)
	}
	before := hits.Load()
	var boe *transport.BreakerOpenError
	if err := post(b); !errors.As(err, &boe) {
		t.Fatalf("B's call while A's breaker is open: %v, want a BreakerOpenError", err)
	}
	if hits.Load() != before {
		t.Fatal("B's call reached the API during A's verdict")
	}
	failing.Store(false)
	waitFor(t, 5*time.Second, "the verdict to end", func() bool { return post(b) == nil })
}
