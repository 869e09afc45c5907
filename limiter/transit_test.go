package limiter_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluicehq/sluice/limiter"
)

// Two prompt-cache writes of 20 100 tokens into a full 40 000-token bucket
// refilling 8 000 a second, the first one a second in transit (a large
// body on a loaded machine). The provider's bucket, full, refills nothing
// until the first write arrives and can take the second 25 ms after that.
// The limiter's refills from the first grant: told of the send
// (TrackSend, Sent), it grants the second write 25 ms after the send, as
// the provider can take it; not told, 25 ms after the first grant, almost
// a second before the provider can (the 429 examples/sdktest's mix met on
// a loaded machine). A write cancelled before it was sent leaves the
// bucket full, as the provider's is.
func TestRefillHeldWhileInTransit(t *testing.T) {
	const window = 5 * time.Second
	const transit = time.Second
	const write = 20100
	for _, c := range []struct {
		name  string
		track bool
		end   func(a *limiter.Reservation) // at transit
		// when the second write is granted, from the first grant
		from, to time.Duration
	}{
		{"told of the send", true, func(a *limiter.Reservation) { a.Sent() }, transit + 20*time.Millisecond, transit + 30*time.Millisecond},
		{"not told", false, func(a *limiter.Reservation) { a.Sent() }, 20 * time.Millisecond, 30 * time.Millisecond},
		// Cancelled: the level is back at the limit at once.
		{"never sent", true, func(a *limiter.Reservation) { _ = a.Cancel() }, transit, transit},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := limiter.New(limiter.WithWindow(window))
				defer l.Close()
				ctx := context.Background()
				full := limiter.Observation{limiter.InputTokens: {Limit: 40000, Remaining: 40000, HasRemaining: true}}
				if err := l.Observe(ctx, "k", full); err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				a := acquire(t, l, "k", limiter.Request{InputTokens: write})
				if c.track && !a.TrackSend() {
					t.Fatal("TrackSend: false for a grant from a full bucket")
				}
				granted := make(chan time.Duration, 1)
				go func() {
					b := acquire(t, l, "k", limiter.Request{InputTokens: write})
					granted <- time.Since(start)
					_ = b.Cancel()
				}()
				time.Sleep(transit)
				c.end(a)
				got := <-granted
				if got < c.from || got > c.to {
					t.Fatalf("second write granted %v after the first, want within [%v, %v]", got, c.from, c.to)
				}
				_ = a.Cancel()
			})
		})
	}
}

// TrackSend reports true only for a grant that left a bucket near its limit
// (here: the first from a full bucket), not for one that found it half
// empty, and Sent on an untracked reservation does nothing.
func TestTrackSendOnlyNearFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := limiter.New(limiter.WithWindow(time.Minute))
		defer l.Close()
		ctx := context.Background()
		_ = l.Observe(ctx, "k", limiter.Observation{limiter.Requests: {Limit: 10, Remaining: 10, HasRemaining: true}})
		a := acquire(t, l, "k", limiter.Request{InputTokens: 1})
		b := acquire(t, l, "k", limiter.Request{InputTokens: 1})
		if !a.TrackSend() {
			t.Error("TrackSend: false for the first grant from a full bucket")
		}
		if b.TrackSend() {
			t.Error("TrackSend: true for a grant that left a request's room")
		}
		b.Sent()
		a.Sent()
		a.Sent()
		_ = a.Settle(limiter.Spent{InputTokens: 1})
		_ = b.Settle(limiter.Spent{InputTokens: 1})
	})
}
