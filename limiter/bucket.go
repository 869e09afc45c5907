package limiter

import (
	"math"
	"time"
)

// bucket is a token bucket that refills continuously at limit/window.
//
// sluice writes its own rather than use golang.org/x/time/rate because an
// LLM quota must be credited and debited after the fact: a request reserves
// its estimated input and max_tokens up front and settles with the real
// usage seconds or minutes later. rate.Limiter can only give tokens back
// through Reservation.Cancel, which restores them "as much as possible"
// while respecting later reservations and not at all once the reservation's
// time has passed; it has no way to charge more than was reserved, to adopt a
// level reported by the provider, or to check several buckets atomically.
// The zero bucket has no limit and never constrains.
type bucket struct {
	limit   float64 // capacity per window; 0 = unlimited
	level   float64 // tokens available at last; may be negative (debt)
	last    time.Time
	learned int64     // provider-reported limit, 0 = never
	reset   time.Time // provider-reported reset
}

// advance refills the bucket up to now. Callers' clocks are read at
// different moments, so a now earlier than the last one is ignored rather
// than moving the bucket back in time (which would refill it twice).
func (b *bucket) advance(now time.Time, window time.Duration) {
	el := now.Sub(b.last)
	if el <= 0 {
		return
	}
	b.last = now
	if b.limit <= 0 {
		return
	}
	b.level += b.limit * float64(el) / float64(window)
	if b.level > b.limit {
		b.level = b.limit
	}
}

// wait returns how long until the bucket holds n, or is full when n is more
// than it can hold; 0 if it does now, or n is 0 (a cost that does not
// draw on this bucket is not held back by its debt).
func (b *bucket) wait(n int64, window time.Duration) time.Duration {
	need := min(float64(n), b.limit)
	if b.limit <= 0 || n <= 0 || need <= b.level {
		return 0
	}
	d := (need - b.level) / b.limit * float64(window)
	return time.Duration(math.Ceil(d))
}

// add credits (n > 0) or debits (n < 0) the bucket, never above its limit.
func (b *bucket) add(n float64) {
	if b.limit <= 0 {
		return
	}
	b.level += n
	if b.level > b.limit {
		b.level = b.limit
	}
}

// setLimit changes the capacity to eff, keeping what has been used:
// a bucket that was unlimited starts full.
func (b *bucket) setLimit(eff int64, now time.Time) {
	switch {
	case eff <= 0:
		b.limit, b.level = 0, 0
	case b.limit <= 0:
		b.limit, b.level = float64(eff), float64(eff)
	default:
		used := b.limit - b.level
		b.limit = float64(eff)
		b.level = b.limit - used
	}
	if now.After(b.last) {
		b.last = now
	}
}

// effective is the limit in effect: min(learned, cap) where both are set.
func effective(learned, cap int64) int64 {
	switch {
	case learned <= 0:
		return cap
	case cap <= 0:
		return learned
	}
	return min(learned, cap)
}
