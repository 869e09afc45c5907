package limiter

import (
	"context"
	"sync"
	"time"
)

// MemoryStore is the in-process Store: one set of buckets per key, guarded
// by a mutex per key. It is the default store of New.
type MemoryStore struct {
	mu   sync.RWMutex
	keys map[string]*memKey
}

type memKey struct {
	refs     int // Limiters whose key state holds this memKey (MemoryStore.mu)
	mu       sync.Mutex
	b        [NumKinds]bucket
	caps     [NumKinds]int64 // caps last applied
	cooldown time.Time
	learned  bool
	window   time.Duration // the policy's window at the last sync
}

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{keys: make(map[string]*memKey)}
}

var _ Store = (*MemoryStore)(nil)

func (s *MemoryStore) key(k string) *memKey {
	s.mu.RLock()
	mk := s.keys[k]
	s.mu.RUnlock()
	if mk != nil {
		return mk
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if mk = s.keys[k]; mk == nil {
		mk = &memKey{}
		s.keys[k] = mk
	}
	return mk
}

// hold returns key's buckets for a Limiter to keep: they are not
// forgotten until the Limiter calls forget.
func (s *MemoryStore) hold(k string) *memKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	mk := s.keys[k]
	if mk == nil {
		mk = &memKey{}
		s.keys[k] = mk
	}
	mk.refs++
	return mk
}

// Forget implements KeyForgetter: it drops key's buckets when no Limiter
// holds them, they are full and no cool-down is pending — a key as a new
// one would be. A store used directly, not through a Limiter, calls it
// for the keys it no longer needs.
func (s *MemoryStore) Forget(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if mk := s.keys[key]; mk != nil && mk.refs == 0 && mk.idle(time.Now()) {
		delete(s.keys, key)
	}
}

var _ KeyForgetter = (*MemoryStore)(nil)

// idle reports whether the buckets are as a new key's would be, brought
// up to now with the window they last saw. mk.mu must not be held.
func (mk *memKey) idle(now time.Time) bool {
	mk.mu.Lock()
	defer mk.mu.Unlock()
	if now.Before(mk.cooldown) {
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

// forget drops a Limiter's hold on key's buckets, and the buckets too when
// no Limiter holds them and they are as a new key's would be: full, with no
// cool-down pending and no limits learned... or only learned long ago: a
// pruned key relearns its limits from its next response.
func (s *MemoryStore) forget(k string, mk *memKey, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mk.refs--
	if mk.refs > 0 || s.keys[k] != mk {
		return
	}
	if mk.idle(now) {
		delete(s.keys, k)
	}
}

// sync brings the buckets up to now and applies p's caps.
func (mk *memKey) sync(p *Policy, now time.Time) {
	mk.window = p.Window
	for i := range mk.b {
		b := &mk.b[i]
		if mk.caps[i] != p.Caps[i] {
			mk.caps[i] = p.Caps[i]
			b.advance(now, p.Window)
			b.setLimit(effective(b.learned, p.Caps[i]), now)
			continue
		}
		b.advance(now, p.Window)
	}
}

func (mk *memKey) state() State {
	var st State
	mk.stateInto(&st)
	return st
}

// levelsInto updates the limits, levels, cool-down and learned flag in st,
// leaving the buckets' Learned and Reset as they were.
func (mk *memKey) levelsInto(st *State) {
	for i := range mk.b {
		st.Buckets[i].Limit, st.Buckets[i].Level = int64(mk.b[i].limit), mk.b[i].level
	}
	if st.CooldownUntil != mk.cooldown {
		st.CooldownUntil = mk.cooldown
	}
	st.Learned = mk.learned
}

func (mk *memKey) stateInto(st *State) {
	st.CooldownUntil, st.Learned = mk.cooldown, mk.learned
	for i := range mk.b {
		b := &mk.b[i]
		st.Buckets[i] = BucketState{Limit: int64(b.limit), Level: b.level, Learned: b.learned, Reset: b.reset}
	}
}

// Reserve implements Store.
func (s *MemoryStore) Reserve(_ context.Context, key string, c Cost, p *Policy, now time.Time) (Decision, error) {
	var d Decision
	d.OK, d.RetryAt, d.Reason = s.key(key).reserve(&d.State, true, c, p, now)
	return d, nil
}

// reserve is Reserve writing the key's state into st. The Limiter calls it
// directly with its own copy of the state and full false: then only what
// the limiter reads between store calls is written (levelsInto), because
// copying a whole State on every acquire shows in its cost.
func (mk *memKey) reserve(st *State, full bool, c Cost, p *Policy, now time.Time) (ok bool, retryAt time.Time, reason Reason) {
	mk.mu.Lock()
	ok, retryAt, reason = mk.decide(c, p, now)
	if full {
		mk.stateInto(st)
	} else {
		mk.levelsInto(st)
	}
	mk.mu.Unlock()
	return ok, retryAt, reason
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
	s.key(key).adjust(delta, p, now)
	return nil
}

func (mk *memKey) adjust(delta Cost, p *Policy, now time.Time) {
	mk.mu.Lock()
	defer mk.mu.Unlock()
	mk.sync(p, now)
	for i := range mk.b {
		mk.b[i].add(-float64(delta[i]))
	}
}

// Observe implements Store.
func (s *MemoryStore) Observe(_ context.Context, key string, o *Observation, pending Cost, p *Policy, now time.Time) error {
	mk := s.key(key)
	mk.mu.Lock()
	defer mk.mu.Unlock()
	mk.observeLocked(o, pending, p, now)
	return nil
}

// ObserveState implements StateObserver.
func (s *MemoryStore) ObserveState(_ context.Context, key string, o *Observation, pending Cost, p *Policy, now time.Time) (State, error) {
	mk := s.key(key)
	mk.mu.Lock()
	defer mk.mu.Unlock()
	mk.observeLocked(o, pending, p, now)
	return mk.state(), nil
}

var _ StateObserver = (*MemoryStore)(nil)

// observe is Observe for a Limiter that keeps the key's state in st: it
// writes the parts the Limiter reads (levelsInto).
func (mk *memKey) observe(st *State, o *Observation, pending Cost, p *Policy, now time.Time) {
	mk.mu.Lock()
	mk.observeLocked(o, pending, p, now)
	mk.levelsInto(st)
	mk.mu.Unlock()
}

// observeLocked is Observe. mk.mu must be held.
func (mk *memKey) observeLocked(o *Observation, pending Cost, p *Policy, now time.Time) {
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
	mk := s.key(key)
	mk.mu.Lock()
	if until.After(mk.cooldown) {
		mk.cooldown = until
	}
	mk.mu.Unlock()
	return nil
}

// State implements Store.
func (s *MemoryStore) State(_ context.Context, key string, p *Policy, now time.Time) (State, error) {
	mk := s.key(key)
	mk.mu.Lock()
	defer mk.mu.Unlock()
	mk.sync(p, now)
	return mk.state(), nil
}
