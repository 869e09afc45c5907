package limiter

import "time"

// epoch is the base of the limiter's monotonic timestamps.
var epoch = time.Now()

// clock returns the current time, and the same instant as nanoseconds
// since epoch (negative inside a testing/synctest bubble, whose clock
// starts in 2000; only differences between such values are used).
func clock() (time.Time, int64) {
	now := time.Now()
	return now, int64(now.Sub(epoch))
}
