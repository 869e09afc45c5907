package redisstore

import (
	"context"
	_ "embed"
	"sync"
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
// transport.BreakerVerdicts, for transport.BreakerSettings.Shared. One round
// trip, on Redis's clock; while Redis is unavailable it answers zero at
// once and each process's breaker decides alone.
//
// A verdict read is reused for WithVerdictCache (100 ms by default).
func (s *Store) OpenUntil(ctx context.Context, key string) (time.Time, error) {
	if until, ok := s.verdicts.get(key, s.cfg.verdict); ok {
		return until, nil
	}
	until, err := s.verdict(ctx, opBreakerRead, key, 0)
	if err == nil {
		s.verdicts.put(key, until)
	}
	return until, err
}

// Open publishes that key's breaker is open until until: every process
// sharing the store holds its calls of key until then. An earlier until
// never shortens a verdict.
func (s *Store) Open(ctx context.Context, key string, until time.Time) error {
	d := time.Until(until)
	if d <= 0 {
		return nil
	}
	got, err := s.verdict(ctx, opBreakerWrite, key, d)
	if err == nil {
		if got.After(until) { // a longer verdict was already in force
			until = got
		}
		s.verdicts.put(key, until)
	}
	return err
}

// verdictCache remembers the verdicts OpenUntil read, per key, so that a
// closed breaker does not cost a round trip per call. It holds at most
// maxCachedVerdicts keys (breaker keys are host and model: few), and
// starts over when full.
type verdictCache struct {
	mu sync.Mutex
	m  map[string]cachedVerdict
}

type cachedVerdict struct {
	until, read time.Time
}

const maxCachedVerdicts = 4096

func (c *verdictCache) get(key string, ttl time.Duration) (time.Time, bool) {
	if ttl <= 0 {
		return time.Time{}, false
	}
	c.mu.Lock()
	v, ok := c.m[key]
	c.mu.Unlock()
	if !ok || time.Since(v.read) >= ttl {
		return time.Time{}, false
	}
	return v.until, true
}

func (c *verdictCache) put(key string, until time.Time) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedVerdicts {
		c.m = make(map[string]cachedVerdict)
	}
	c.m[key] = cachedVerdict{until: until, read: time.Now()}
	c.mu.Unlock()
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
