package limiter

import (
	"context"
	"sort"
	"time"
)

// KeyStats is a snapshot of one key.
type KeyStats struct {
	Key string
	// Limits in effect per kind (0: unlimited), Remaining tokens now and
	// Used = Limits - Remaining: what was spent in the last window and has
	// not yet refilled.
	Limits    [NumKinds]int64
	Remaining [NumKinds]float64
	Used      [NumKinds]float64
	// Utilization is the highest Used/Limits over the kinds, 0..1.
	Utilization float64
	// Queued acquires waiting and InFlight reservations not yet ended.
	Queued   int
	InFlight int
	// ConcurrencyLimit is the key's in-flight cap (0: none).
	ConcurrencyLimit int
	// CooldownUntil is when the key's cool-down ends (zero: none).
	CooldownUntil time.Time
}

// Stats returns a snapshot of every key the limiter has seen, sorted by key,
// from what the limiter holds in the process: it makes no Store call, so a
// metrics collection may call it whatever the store and however many keys.
// Each key's buckets are as its last store operation (a reservation or an
// observed response) left them, refilled to now at limit/Window; a settle
// since then, or what other processes sharing the store spent, shows at the
// key's next operation. StatsFor asks the store.
func (l *Limiter) Stats() []KeyStats {
	now, _ := clock()
	var out []KeyStats
	l.keys.Range(func(_, v any) bool {
		ks := v.(*keyState)
		ks.mu.Lock()
		if ks.dead {
			ks.mu.Unlock()
			return true
		}
		st, at := ks.last, ks.lastAt
		s := KeyStats{Key: ks.key, Queued: ks.waiting(), InFlight: ks.inflight, ConcurrencyLimit: int(ks.climit), CooldownUntil: st.CooldownUntil}
		ks.mu.Unlock()
		if el := now.Sub(at); !at.IsZero() && el > 0 && l.pol.Window > 0 {
			for k := range st.Buckets {
				b := &st.Buckets[k]
				b.Level = min(b.Level+float64(b.Limit)*float64(el)/float64(l.pol.Window), float64(b.Limit))
			}
		}
		s.setBuckets(&st)
		out = append(out, s)
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// StatsFor returns a snapshot of key with its buckets as the store has them
// now (one Store call). When the store cannot be read, the buckets are the
// last state the limiter saw.
func (l *Limiter) StatsFor(key string) KeyStats {
	ks := l.state(key)
	now := time.Now()
	st, err := l.store.State(context.Background(), key, &l.pol, now)
	ks.mu.Lock()
	if err != nil {
		st = ks.last
	}
	s := KeyStats{Key: key, Queued: ks.waiting(), InFlight: ks.inflight, ConcurrencyLimit: int(ks.climit), CooldownUntil: st.CooldownUntil}
	ks.mu.Unlock()
	s.setBuckets(&st)
	return s
}

// setBuckets fills the bucket fields of s from st.
func (s *KeyStats) setBuckets(st *State) {
	for k, b := range st.Buckets {
		s.Limits[k], s.Remaining[k] = b.Limit, b.Level
		if b.Limit > 0 {
			s.Used[k] = float64(b.Limit) - b.Level
		}
		s.Utilization = max(s.Utilization, b.Utilization())
	}
}
