package limiter

import (
	"context"
	"sync"
	"time"
)

// MemoryStore is the in-process Store: one set of buckets per key, guarded
// by a mutex per key. It is the default store of New. The zero value is an
// empty store ready to use.
type MemoryStore struct {
	keys sync.Map // string → *memKey
}

type memKey struct {
	mu       sync.Mutex // guards every field
	gone     bool       // dropped by Forget: look the key up again
	b        [NumKinds]bucket
	caps     [NumKinds]int64 // caps last applied
	cooldown time.Time
	learned  bool
	window   time.Duration // the policy's window at the last operation
	touched  time.Time     // the latest now of any operation
}

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore() *MemoryStore { return new(MemoryStore) }

var (
	_ Store         = (*MemoryStore)(nil)
	_ StateObserver = (*MemoryStore)(nil)
	_ KeyForgetter  = (*MemoryStore)(nil)
)

// lock returns key's buckets with their mutex held, making them for a new
// key. Buckets Forget dropped are never returned: an operation on them
// would be lost.
func (s *MemoryStore) lock(key string) *memKey {
	for {
		v, ok := s.keys.Load(key)
		if !ok {
			v, _ = s.keys.LoadOrStore(key, new(memKey))
		}
		mk := v.(*memKey)
		mk.mu.Lock()
		if !mk.gone {
			return mk
		}
		mk.mu.Unlock()
	}
}

// Forget implements KeyForgetter: it drops key's buckets when they are as a
// new key's would be — full, no cool-down pending — and no operation has
// touched them for a window, so that a key another Limiter sharing the
// store still uses keeps its learned limits. A store used directly, not
// through a Limiter, calls it for the keys it no longer needs.
func (s *MemoryStore) Forget(key string) {
	v, ok := s.keys.Load(key)
	if !ok {
		return
	}
	mk := v.(*memKey)
	mk.mu.Lock()
	defer mk.mu.Unlock()
	if !mk.gone && mk.idle(time.Now()) {
		mk.gone = true
		s.keys.CompareAndDelete(key, mk)
	}
}

// idle reports whether the buckets are as a new key's would be, brought up
// to now with the window they last saw, and untouched for that window.
// mk.mu must be held.
func (mk *memKey) idle(now time.Time) bool {
	if now.Before(mk.cooldown) || now.Sub(mk.touched) < mk.window {
		return false
	}
	for i := range mk.b {
		b := &mk.b[i]
		if mk.window > 0 {
			b.advance(now, mk.window)
		}
		if b.limit > 0 && b.level < b.limit {
			return false
		}
	}
	return true
}

// sync brings the buckets up to now and applies p's caps. mk.mu must be
// held.
func (mk *memKey) sync(p *Policy, now time.Time) {
	mk.window = p.Window
	if now.After(mk.touched) {
		mk.touched = now
	}
	for i := range mk.b {
		b := &mk.b[i]
		b.advance(now, p.Window)
		if mk.caps[i] != p.Caps[i] {
			mk.caps[i] = p.Caps[i]
			b.setLimit(effective(b.learned, p.Caps[i]), now)
		}
	}
}

// state is the key's state at now. mk.mu must be held.
func (mk *memKey) state(now time.Time) State {
	st := State{Learned: mk.learned}
	if now.Before(mk.cooldown) {
		st.CooldownUntil = mk.cooldown
	}
	for i := range mk.b {
		b := &mk.b[i]
		st.Buckets[i] = BucketState{Limit: int64(b.limit), Level: b.level, Learned: b.learned, Reset: b.reset}
	}
	return st
}

// Reserve implements Store.
func (s *MemoryStore) Reserve(_ context.Context, key string, c Cost, p *Policy, now time.Time) (Decision, error) {
	mk := s.lock(key)
	defer mk.mu.Unlock()
	var d Decision
	d.OK, d.RetryAt, d.Reason = mk.decide(c, p, now)
	d.State = mk.state(now)
	return d, nil
}

// decide is Reserve's decision. mk.mu must be held. A cost larger than a
// bucket's limit waits for the bucket to be full and is then charged in
// full (see Store).
func (mk *memKey) decide(c Cost, p *Policy, now time.Time) (ok bool, retryAt time.Time, reason Reason) {
	mk.sync(p, now)
	if now.Before(mk.cooldown) {
		return false, mk.cooldown, ReasonCooldown
	}
	var worst time.Duration
	for i := range mk.b {
		if w := mk.b[i].wait(c[i], p.Window); w > worst {
			worst, reason = w, ReasonFor(Kind(i))
		}
	}
	if worst > 0 {
		return false, now.Add(worst), reason
	}
	for i := range mk.b {
		mk.b[i].add(-float64(c[i]))
	}
	return true, time.Time{}, ReasonNone
}

// Adjust implements Store.
func (s *MemoryStore) Adjust(_ context.Context, key string, delta Cost, p *Policy, now time.Time) error {
	mk := s.lock(key)
	defer mk.mu.Unlock()
	mk.sync(p, now)
	for i := range mk.b {
		mk.b[i].add(-float64(delta[i]))
	}
	return nil
}

// Observe implements Store.
func (s *MemoryStore) Observe(_ context.Context, key string, o Observation, pending Cost, p *Policy, now time.Time) error {
	mk := s.lock(key)
	defer mk.mu.Unlock()
	mk.observe(&o, pending, p, now)
	return nil
}

// ObserveState implements StateObserver.
func (s *MemoryStore) ObserveState(_ context.Context, key string, o Observation, pending Cost, p *Policy, now time.Time) (State, error) {
	mk := s.lock(key)
	defer mk.mu.Unlock()
	mk.observe(&o, pending, p, now)
	return mk.state(now), nil
}

// observe is Observe. mk.mu must be held.
func (mk *memKey) observe(o *Observation, pending Cost, p *Policy, now time.Time) {
	mk.sync(p, now)
	for i, r := range o {
		b := &mk.b[i]
		if r.Limit <= 0 && !r.HasRemaining {
			continue
		}
		mk.learned = true
		if !r.Reset.IsZero() {
			b.reset = r.Reset
		}
		if r.Limit > 0 && r.Limit != b.learned {
			b.learned = r.Limit
			b.setLimit(effective(r.Limit, p.Caps[i]), now)
		}
		if !r.HasRemaining || b.limit <= 0 {
			continue
		}
		// Keep what the provider says is used: with a cap below the
		// provider's limit the level is the cap minus the provider's usage.
		lvl := float64(r.Remaining - pending[i])
		if b.learned > 0 {
			lvl -= float64(b.learned) - b.limit
		}
		if lvl < b.level {
			b.level = lvl
		}
	}
}

// Cooldown implements Store.
func (s *MemoryStore) Cooldown(_ context.Context, key string, until time.Time) error {
	mk := s.lock(key)
	defer mk.mu.Unlock()
	if until.After(mk.cooldown) {
		mk.cooldown = until
	}
	return nil
}

// State implements Store. Reading a key the store does not hold makes no
// entry for it.
func (s *MemoryStore) State(_ context.Context, key string, p *Policy, now time.Time) (State, error) {
	if _, ok := s.keys.Load(key); !ok {
		var mk memKey // a new key's state under p
		mk.sync(p, now)
		return mk.state(now), nil
	}
	mk := s.lock(key)
	defer mk.mu.Unlock()
	mk.sync(p, now)
	return mk.state(now), nil
}
