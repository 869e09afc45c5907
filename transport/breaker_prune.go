package transport

import (
	"time"

	"github.com/sony/gobreaker/v2"
)

// Pruning. With BreakerSettings.Key a key can name a tenant, a user or a
// session: breakers then come and go, and keeping every one ever made
// would grow without bound. A breaker that is closed, has no call waiting
// or in flight, and has not been asked for by a call for two sweeps (a
// sweep runs at most once per window, inline in a lookup) is dropped: its
// rolling counts have expired by then, so a new breaker for the key, made
// on demand, is indistinguishable from it. An open or half-open breaker is
// kept whatever its age, so an outage is never forgotten. Default-key
// breakers are not pruned: their number is bounded by the hosts and models
// an application calls, and the lock-free index that finds them
// (readmostly) cannot drop entries.

// pruneEvery is how many lookups pass between two looks at the clock.
const pruneEvery = 64

// maybePrune sweeps the breakers when a window has passed since the last
// sweep; b.mu is held.
func (b *breakerTransport) maybePrune() {
	if b.cfg.Key == nil {
		return
	}
	if b.lookups++; b.lookups%pruneEvery != 0 {
		return
	}
	now := time.Now()
	if now.Sub(b.swept) < b.cfg.Window {
		return
	}
	b.swept = now
	for key, e := range b.entries {
		if e.used || e.users.Load() > 0 || !e.closed() {
			e.used, e.idle = false, 0
			continue
		}
		if e.idle++; e.idle >= 2 {
			delete(b.entries, key)
		}
	}
}

func (e *breakerEntry) closed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state == gobreaker.StateClosed && e.publish.IsZero()
}
