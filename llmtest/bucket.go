package llmtest

import (
	"math"
	"time"
)

// bucket is a continuously refilled token bucket: it holds at most capacity
// tokens and gains capacity/window tokens per unit of time. Levels are
// float64 so that partial refills are exact; headers floor them.
//
// golang.org/x/time/rate has the same model, but the fake needs what rate
// hides: the time until full (the reset headers), refunds larger than the
// burst would allow after settlement, and all-or-nothing admission across
// several buckets.
type bucket struct {
	capacity float64
	perSec   float64 // refill rate
	level    float64
	last     time.Time
}

func newBucket(capacity int, window time.Duration, fill float64, since, now time.Time) *bucket {
	b := &bucket{
		capacity: float64(capacity),
		perSec:   float64(capacity) / window.Seconds(),
		level:    float64(capacity) * fill,
		last:     since,
	}
	b.refill(now)
	return b
}

// refill brings the level up to date at now.
func (b *bucket) refill(now time.Time) {
	if now.After(b.last) {
		b.level = math.Min(b.capacity, b.level+now.Sub(b.last).Seconds()*b.perSec)
		b.last = now
	}
}

// wait is how long until n tokens are available; 0 if they are now.
func (b *bucket) wait(n float64) time.Duration {
	if n <= b.level {
		return 0
	}
	return time.Duration((n - b.level) / b.perSec * float64(time.Second))
}

// untilFull is how long until the bucket is full again.
func (b *bucket) untilFull() time.Duration {
	return time.Duration((b.capacity - b.level) / b.perSec * float64(time.Second))
}

// remaining is the whole number of tokens available now.
func (b *bucket) remaining() int64 {
	return int64(math.Max(0, math.Floor(b.level)))
}

// take removes n tokens; the caller has checked they are there.
func (b *bucket) take(n float64) { b.level -= n }

// refund returns n tokens (negative n charges more), capped at capacity.
func (b *bucket) refund(n float64) { b.level = math.Min(b.capacity, b.level+n) }
