package redisstore

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sluicehq/sluice/limiter"
	"github.com/sluicehq/sluice/limiter/redisstore/redistest"
)

func count(m *sync.Map) int {
	n := 0
	m.Range(func(_, _ any) bool { n++; return true })
	return n
}

// When the Limiter retires idle keys, the store drops what it keeps for
// them in the process; the keys still work afterwards.
func TestForgetDropsPerKeyState(t *testing.T) {
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), ContextTimeoutEnabled: true})
	defer rdb.Close()
	st := New(rdb)
	defer st.Close()
	// A key retires after two windows unused: 200 ms keeps the 50 keys
	// below alive while they are made, however loaded the machine.
	const window = 200 * time.Millisecond
	l := limiter.New(limiter.WithStore(st), limiter.WithWindow(window), limiter.WithLimits(limiter.Limits{Requests: 1000}))
	defer l.Close()
	ctx := context.Background()
	use := func(key string) {
		t.Helper()
		r, err := l.Acquire(ctx, key, limiter.Request{})
		if err != nil {
			t.Fatal(err)
		}
		_ = r.Observe(ctx, limiter.Observation{limiter.Requests: {Limit: 1000, Remaining: 900, HasRemaining: true}})
		r.Release()
	}
	for i := range 50 {
		use(fmt.Sprintf("tenant-%d", i))
	}
	if n := count(&st.names); n < 50 {
		t.Fatalf("%d key names before retirement, want 50", n)
	}
	deadline := time.Now().Add(15 * time.Second)
	for count(&st.names) > 1 || count(&st.last) > 1 { // "tick" stays
		if time.Now().After(deadline) {
			t.Fatalf("still %d names, %d last states", count(&st.names), count(&st.last))
		}
		use("tick")
		time.Sleep(window / 4)
	}
	use("tenant-7") // a retired key works as a new one
}
