package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sluicehq/sluice/limiter"
)

// ErrUnavailable is wrapped by the errors a FailClosed store returns while
// Redis is unreachable or slow.
var ErrUnavailable = errors.New("redisstore: redis unavailable")

// Store is a limiter.Store kept in Redis and shared by every process that
// uses the same Redis and prefix. It is safe for concurrent use. Close stops
// its background probe; the Redis client stays the caller's.
type Store struct {
	rdb      redis.Scripter
	cfg      config
	verdicts verdictCache
	inst     instruments
	local    *limiter.MemoryStore

	names  sync.Map // limiter key → redisKeys
	last   sync.Map // limiter key → limiter.State, the last shared state seen
	seeded sync.Map // limiter key → the outage (health.outages) its local buckets were seeded in

	health
}

type redisKeys struct{ buckets, cooldown string }

var _ limiter.Store = (*Store)(nil)

// New returns a Store that keeps its buckets in rdb (a *redis.Client,
// *redis.ClusterClient or any redis.UniversalClient). Give rdb
// ContextTimeoutEnabled so that WithTimeout bounds reads and writes on the
// connection too, not only waits for one.
func New(rdb redis.Scripter, opts ...Option) *Store {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	s := &Store{rdb: rdb, cfg: cfg, local: limiter.NewMemoryStore()}
	s.inst = newInstruments(cfg.tel)
	s.done = make(chan struct{})
	return s
}

// Close stops the background probe. Operations after Close still work; a
// store that loses Redis after Close stays in local mode.
func (s *Store) Close() error {
	s.stopProbe()
	return nil
}

// keys returns key's Redis keys: the limiter key is hashed, so neither it
// nor the API-key fingerprint in it appears in Redis, and the hash is the
// hash tag, so both keys of a limiter key share one cluster slot.
func (s *Store) keys(key string) redisKeys {
	if v, ok := s.names.Load(key); ok {
		return v.(redisKeys)
	}
	base := s.cfg.prefix + ":{" + s.hash(key) + "}:"
	k := redisKeys{buckets: base + "b", cooldown: base + "cd"}
	s.names.Store(key, k)
	return k
}

// hash is the hex of the first 12 bytes of key's SHA-256.
func (s *Store) hash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:12])
}

// Reserve implements limiter.Store in one round trip.
func (s *Store) Reserve(ctx context.Context, key string, c limiter.Cost, p *limiter.Policy, now time.Time) (limiter.Decision, error) {
	k := s.keys(key)
	args := s.policyArgs(p, limiter.NumKinds)
	for _, n := range c {
		args = append(args, n)
	}
	var d limiter.Decision
	var derr error
	fb, err := s.try(ctx, opReserve, func(ctx context.Context) error {
		v, err := reserveScript.Run(ctx, s.rdb, []string{k.buckets, k.cooldown}, args...).Result()
		if err != nil {
			return err
		}
		r, err := parseReply(v, now)
		if err != nil {
			return err
		}
		s.remember(key, &r.state)
		d, derr = r.decision(now)
		return nil
	})
	switch {
	case err != nil:
		return limiter.Decision{}, err
	case fb:
		return s.localReserve(ctx, key, c, p, now)
	}
	return d, derr
}

// Adjust implements limiter.Store in one round trip.
func (s *Store) Adjust(ctx context.Context, key string, delta limiter.Cost, p *limiter.Policy, now time.Time) error {
	k := s.keys(key)
	args := s.policyArgs(p, limiter.NumKinds)
	for _, n := range delta {
		args = append(args, n)
	}
	fb, err := s.try(ctx, opAdjust, func(ctx context.Context) error {
		return adjustScript.Run(ctx, s.rdb, []string{k.buckets, k.cooldown}, args...).Err()
	})
	if err != nil || !fb {
		return err
	}
	return s.localAdjust(ctx, key, delta, p, now)
}

// Observe implements limiter.Store in one round trip: the readings update
// the buckets every process shares. pending (what this process reserved
// after the observed request) is taken off Remaining before it is adopted.
func (s *Store) Observe(ctx context.Context, key string, o limiter.Observation, pending limiter.Cost, p *limiter.Policy, now time.Time) error {
	_, err := s.ObserveState(ctx, key, o, pending, p, now)
	return err
}

// ObserveState implements limiter.StateObserver: Observe, returning the
// key's state after it from the same round trip.
func (s *Store) ObserveState(ctx context.Context, key string, o limiter.Observation, pending limiter.Cost, p *limiter.Policy, now time.Time) (limiter.State, error) {
	k := s.keys(key)
	args := s.policyArgs(p, 4*limiter.NumKinds)
	for i, r := range o {
		has := 0
		if r.HasRemaining {
			has = 1
		}
		var reset any = "n"
		if !r.Reset.IsZero() {
			reset = r.Reset.Sub(now).Microseconds()
		}
		args = append(args, r.Limit, has, r.Remaining-pending[i], reset)
	}
	var st limiter.State
	fb, err := s.try(ctx, opObserve, func(ctx context.Context) error {
		v, err := observeScript.Run(ctx, s.rdb, []string{k.buckets, k.cooldown}, args...).Result()
		if err != nil {
			return err
		}
		r, err := parseReply(v, now)
		if err == nil {
			st = r.state
			s.remember(key, &r.state)
		}
		return err
	})
	switch {
	case err != nil:
		return limiter.State{}, err
	case fb:
		if err := s.localObserve(ctx, key, o, pending, p, now); err != nil {
			return limiter.State{}, err
		}
		return s.localState(ctx, key, p, now)
	}
	return st, nil
}

var _ limiter.StateObserver = (*Store)(nil)

// Cooldown implements limiter.Store: every process's Reserve for key denies
// until until. The cool-down is set on Redis's clock as the delay from the
// caller's now to until.
func (s *Store) Cooldown(ctx context.Context, key string, until time.Time) error {
	d := time.Until(until)
	if d <= 0 {
		return nil
	}
	k := s.keys(key)
	fb, err := s.try(ctx, opCooldown, func(ctx context.Context) error {
		return cooldownScript.Run(ctx, s.rdb, []string{k.cooldown}, d.Microseconds()).Err()
	})
	if err != nil || !fb {
		return err
	}
	return s.local.Cooldown(ctx, key, until)
}

// State implements limiter.Store in one round trip.
func (s *Store) State(ctx context.Context, key string, p *limiter.Policy, now time.Time) (limiter.State, error) {
	k := s.keys(key)
	var st limiter.State
	fb, err := s.try(ctx, opState, func(ctx context.Context) error {
		v, err := stateScript.Run(ctx, s.rdb, []string{k.buckets, k.cooldown}, s.policyArgs(p, 0)...).Result()
		if err != nil {
			return err
		}
		r, err := parseReply(v, now)
		st = r.state
		return err
	})
	switch {
	case err != nil:
		return limiter.State{}, err
	case fb:
		return s.localState(ctx, key, p, now)
	}
	return st, nil
}

// Forget implements limiter.KeyForgetter: it drops what the store keeps in
// the process for key (its Redis key names, the last shared state, the
// local fallback buckets) when the Limiter retires the key. The key's Redis
// state is left to expire (WithTTL): other processes may still use it.
func (s *Store) Forget(key string) {
	s.names.Delete(key)
	s.last.Delete(key)
	s.seeded.Delete(key)
	s.local.Forget(key)
}

var _ limiter.KeyForgetter = (*Store)(nil)

// remember keeps the key's last shared state, to seed local mode.
func (s *Store) remember(key string, st *limiter.State) { s.last.Store(key, *st) }
