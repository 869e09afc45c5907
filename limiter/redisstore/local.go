package redisstore

import (
	"context"
	"math"
	"time"

	"github.com/sluicehq/sluice/limiter"
)

// While Redis is unavailable a process limits itself with an in-memory
// store holding its share of every limit — the explicit caps and the limits
// last learned through Redis, both scaled by the local share — so that a
// fleet of n replicas with share 1/n stays under the quota without talking.
// A FailOpen store keeps no limits, only the cool-downs.

func (s *Store) scale(n int64) int64 {
	return max(1, int64(math.Ceil(float64(n)*s.cfg.share)))
}

// localPolicy is p with its caps scaled to the local share.
func (s *Store) localPolicy(p *limiter.Policy) *limiter.Policy {
	lp := *p
	for i, c := range p.Caps {
		switch {
		case s.cfg.mode == FailOpen:
			lp.Caps[i] = 0
		case c > 0:
			lp.Caps[i] = s.scale(c)
		}
	}
	return &lp
}

// seed gives the local buckets, once per outage, this process's share of
// what the key had in Redis when it was last seen: the learned limits and
// the levels. Without it every process would start its outage with a full
// share while the provider's bucket is as empty as the shared one was.
func (s *Store) seed(ctx context.Context, key string, lp *limiter.Policy, now time.Time) {
	if s.cfg.mode == FailOpen {
		return
	}
	gen := s.outages.Load()
	if v, ok := s.seeded.Load(key); ok && v.(uint64) == gen {
		return
	}
	s.seeded.Store(key, gen)
	v, ok := s.last.Load(key)
	if !ok {
		return
	}
	var o limiter.Observation
	for i, b := range v.(limiter.State).Buckets {
		if b.Learned > 0 {
			o[i].Limit = s.scale(b.Learned)
		}
		if b.Limit > 0 {
			o[i].Remaining, o[i].HasRemaining = int64(math.Floor(b.Level*s.cfg.share)), true
		}
	}
	_ = s.local.Observe(ctx, key, o, limiter.Cost{}, lp, now)
}

func (s *Store) localReserve(ctx context.Context, key string, c limiter.Cost, p *limiter.Policy, now time.Time) (limiter.Decision, error) {
	lp := s.localPolicy(p)
	s.seed(ctx, key, lp, now)
	// A request larger than this process's share of a bucket waits for the
	// share to be full and takes it into debt, as any oversized cost does.
	return s.local.Reserve(ctx, key, c, lp, now)
}

func (s *Store) localAdjust(ctx context.Context, key string, delta limiter.Cost, p *limiter.Policy, now time.Time) error {
	return s.local.Adjust(ctx, key, delta, s.localPolicy(p), now)
}

// localObserve scales the fleet-wide readings to the local share; this
// process's own pending reservations are taken off in full.
func (s *Store) localObserve(ctx context.Context, key string, o limiter.Observation, pending limiter.Cost, p *limiter.Policy, now time.Time) error {
	if s.cfg.mode == FailOpen {
		return nil
	}
	lo := o
	for i := range lo {
		if lo[i].Limit > 0 {
			lo[i].Limit = s.scale(lo[i].Limit)
		}
		lo[i].Remaining = int64(math.Floor(float64(lo[i].Remaining) * s.cfg.share))
	}
	return s.local.Observe(ctx, key, lo, pending, s.localPolicy(p), now)
}

func (s *Store) localState(ctx context.Context, key string, p *limiter.Policy, now time.Time) (limiter.State, error) {
	lp := s.localPolicy(p)
	s.seed(ctx, key, lp, now)
	return s.local.State(ctx, key, lp, now)
}
