package redisstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sluicehq/sluice/limiter"
	"github.com/sluicehq/sluice/limiter/redisstore"
	"github.com/sluicehq/sluice/limiter/redisstore/redistest"
)

// Two limiters — two processes, in real life — share one quota of three
// requests per window through Redis.
func Example() {
	srv, err := redistest.Run()
	if err != nil {
		fmt.Println(err) // the example needs redis-server installed
		return
	}
	defer srv.Close()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), ContextTimeoutEnabled: true})
	defer rdb.Close()

	newLimiter := func() (*limiter.Limiter, *redisstore.Store) {
		st := redisstore.New(rdb, redisstore.WithReplicas(2))
		return limiter.New(limiter.WithStore(st), limiter.WithWindow(time.Hour),
			limiter.WithLimits(limiter.Limits{Requests: 3})), st
	}
	a, sa := newLimiter()
	b, sb := newLimiter()
	defer sa.Close()
	defer sb.Close()

	ctx := context.Background()
	granted := 0
	for _, l := range []*limiter.Limiter{a, b, a} {
		if r, err := l.Acquire(ctx, "team-key/model", limiter.Request{MaxOutputTokens: 1}); err == nil {
			r.Release()
			granted++
		}
	}
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err = b.Acquire(short, "team-key/model", limiter.Request{MaxOutputTokens: 1})
	fmt.Printf("granted: %d, fourth refused: %v\n", granted, err != nil)
	// Output: granted: 3, fourth refused: true
}
