package redisstore

import (
	"context"
	_ "embed"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed lua/verdict.lua
var verdictSrc string

var verdictScript = redis.NewScript(verdictSrc)

// Operations of the breaker verdicts, as counted by
// telemetry.MetricRedisStoreFallbacks.
const (
	opBreakerRead  = "breaker_read"
	opBreakerWrite = "breaker_write"
)

// OpenUntil returns when the fleet's open verdict for the circuit-breaker
// key ends, on the caller's clock (zero: none). With Open it makes Store a
// transport.BreakerVerdicts, for transport.WithSharedBreaker. One round
// trip, on Redis's clock; while Redis is unavailable it answers zero at
// once and each process's breaker decides alone.
func (s *Store) OpenUntil(ctx context.Context, key string) (time.Time, error) {
	return s.verdict(ctx, opBreakerRead, key, 0)
}

// Open publishes that key's breaker is open until until: every process
// sharing the store holds its calls of key until then. An earlier until
// never shortens a verdict.
func (s *Store) Open(ctx context.Context, key string, until time.Time) error {
	d := time.Until(until)
	if d <= 0 {
		return nil
	}
	_, err := s.verdict(ctx, opBreakerWrite, key, d)
	return err
}

func (s *Store) verdict(ctx context.Context, op, key string, d time.Duration) (time.Time, error) {
	now := time.Now()
	k := s.cfg.prefix + ":{" + s.hash("breaker\x00"+key) + "}:open"
	var left int64
	fb, err := s.try(ctx, op, func(ctx context.Context) error {
		var err error
		left, err = verdictScript.Run(ctx, s.rdb, []string{k}, d.Microseconds()).Int64()
		return err
	})
	if err != nil || fb || left <= 0 {
		return time.Time{}, err
	}
	return now.Add(time.Duration(left) * time.Microsecond), nil
}
