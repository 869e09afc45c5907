package limiter

import "time"

// Idle keys are pruned so that a limiter keyed by something with many
// values (a tenant, a user) does not grow without bound: once per window,
// the next Acquire sweeps the keys and retires every one that has not been
// acquired for idleWindows windows and that idleWindows sweeps in a row
// found idle — nothing queued or in flight (a stream may hold its slot for
// longer than a window), no cool-down pending — and tells a store that
// keeps per-key state (KeyForgetter). A retired key is as if never seen:
// its next acquire starts a new state, relearning its limits from the
// first response (explicit limits, WithLimits, apply at once) unless the
// store still holds them.
const idleWindows = 2

// maybeSweep sweeps when a window has passed since the last sweep; one
// caller does it, inline, at a cost linear in the number of keys.
func (l *Limiter) maybeSweep(now time.Time, mono int64) {
	last := l.lastSweep.Load()
	if mono-last < int64(l.pol.Window) || !l.lastSweep.CompareAndSwap(last, mono) {
		return
	}
	l.sweep(now, mono)
}

// sweep retires the keys idle for idleWindows windows.
func (l *Limiter) sweep(now time.Time, mono int64) {
	f, _ := l.store.(KeyForgetter)
	idleFor := idleWindows * int64(l.pol.Window)
	l.keys.Range(func(k, v any) bool {
		ks := v.(*keyState)
		ks.mu.Lock()
		idle := !ks.head && ks.queued == 0 && ks.inflight == 0 && ks.unacked.head == nil && !now.Before(ks.last.CooldownUntil)
		if idle {
			ks.idleSweeps++
		} else {
			ks.idleSweeps = 0
		}
		retire := idle && !ks.dead && ks.idleSweeps >= idleWindows && mono-ks.lastUsed >= idleFor
		if retire {
			ks.dead = true
		}
		ks.mu.Unlock()
		if !retire {
			return true
		}
		l.keys.CompareAndDelete(k, ks)
		l.retired.Add(1)
		if f != nil {
			f.Forget(ks.key)
		}
		return true
	})
}
