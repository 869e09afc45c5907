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

	"github.com/sluicehq/sluice/limiter/redisstore"
	"github.com/sluicehq/sluice/limiter/redisstore/redistest"
	"github.com/sluicehq/sluice/transport"
)

var _ transport.BreakerVerdicts = (*redisstore.Store)(nil)

func TestBreakerVerdictIsShared(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newClient(t, srv)
	a, b := newStore(t, rdb), newStore(t, rdb)
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
	settings := transport.WithBreakerSettings(transport.BreakerSettings{MinRequests: 2, FailureRatio: 0.5, Break: 400 * time.Millisecond})
	a := transport.Breaker(api.Client().Transport, settings, transport.WithSharedBreaker(newStore(t, rdb)))
	b := transport.Breaker(api.Client().Transport, settings, transport.WithSharedBreaker(newStore(t, rdb)), transport.WithFailFast())
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
