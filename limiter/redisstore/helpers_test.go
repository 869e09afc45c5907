package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sluicehq/sluice/limiter"
	"github.com/sluicehq/sluice/limiter/redisstore"
	"github.com/sluicehq/sluice/limiter/redisstore/redistest"
)

// newClient returns a client of srv closed at the end of the test.
func newClient(t testing.TB, srv *redistest.Server) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), ContextTimeoutEnabled: true})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// newStore returns a store on rdb closed at the end of the test.
func newStore(t testing.TB, rdb redis.Scripter, opts ...redisstore.Option) *redisstore.Store {
	t.Helper()
	st := redisstore.New(rdb, opts...)
	t.Cleanup(func() { st.Close() })
	return st
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func policy(window time.Duration, caps limiter.Limits) *limiter.Policy {
	return &limiter.Policy{Window: window, Caps: [limiter.NumKinds]int64{caps.Requests, caps.InputTokens, caps.OutputTokens, caps.Tokens}}
}

func reserve(t *testing.T, st limiter.Store, key string, c limiter.Cost, p *limiter.Policy) limiter.Decision {
	t.Helper()
	d, err := st.Reserve(context.Background(), key, c, p, time.Now())
	if err != nil {
		t.Fatalf("Reserve(%v): %v", c, err)
	}
	return d
}
