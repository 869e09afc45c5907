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

// Stats returns a snapshot of every key the limiter has seen, sorted by key.
func (l *Limiter) Stats() []KeyStats {
	var out []KeyStats
	l.keys.Range(func(k, _ any) bool {
		out = append(out, l.StatsFor(k.(string)))
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// StatsFor returns a snapshot of key. When the store cannot be read, the
// buckets are the last state the limiter saw.
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
	for k, b := range st.Buckets {
		s.Limits[k], s.Remaining[k] = b.Limit, b.Level
		if b.Limit > 0 {
			s.Used[k] = float64(b.Limit) - b.Level
		}
		s.Utilization = max(s.Utilization, b.Utilization())
	}
	return s
}
