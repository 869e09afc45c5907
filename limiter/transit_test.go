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
// (Request.ReportsSend, Sent), it holds that refill back until the provider will have
// counted the first write — its answer, or at most 200 ms after the send —
// and grants the second 25 ms later, as the provider can take it; not
// told, 25 ms after the first grant, almost a second before the provider
// can (the 429 examples/sdktest's mix met on a loaded machine). A write cancelled before it was sent leaves the
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
		// Counted by the provider when its answer comes, 5 ms after the
		// send: the hold ends with the answer.
		{"told of the send and answered", true, func(a *limiter.Reservation) {
			a.Sent()
			time.Sleep(5 * time.Millisecond)
			_ = a.Observe(context.Background(), limiter.Observation{})
		}, transit + 25*time.Millisecond, transit + 35*time.Millisecond},
		// No answer yet: the provider will have counted the request
		// within 200 ms of the send (the limiter's reorderWindow).
		{"told of the send", true, func(a *limiter.Reservation) { a.Sent() }, transit + 220*time.Millisecond, transit + 230*time.Millisecond},
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
				a := acquire(t, l, "k", limiter.Request{InputTokens: write, ReportsSend: c.track})
				if a.WantsSend() != c.track {
					t.Fatalf("WantsSend: %v for a grant from a full bucket, ReportsSend %v", a.WantsSend(), c.track)
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

// WantsSend reports true only for a grant that found its bucket within its
// cost of full and left less than its cost in it: not for one that found
// the bucket part spent, nor for one into a bucket far larger than what it
// costs (a key far below its limits), and Sent on an untracked reservation
// does nothing.
func TestWantsSendOnlyNearFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := limiter.New(limiter.WithWindow(time.Minute))
		defer l.Close()
		ctx := context.Background()
		_ = l.Observe(ctx, "small", limiter.Observation{limiter.InputTokens: {Limit: 100, Remaining: 100, HasRemaining: true}})
		_ = l.Observe(ctx, "large", limiter.Observation{limiter.InputTokens: {Limit: 10000, Remaining: 10000, HasRemaining: true}})
		a := acquire(t, l, "small", limiter.Request{InputTokens: 60, ReportsSend: true})
		b := acquire(t, l, "small", limiter.Request{InputTokens: 30, ReportsSend: true})
		c := acquire(t, l, "large", limiter.Request{InputTokens: 60, ReportsSend: true})
		if !a.WantsSend() {
			t.Error("WantsSend: false for a grant from a full bucket that left less than its cost")
		}
		if b.WantsSend() {
			t.Error("WantsSend: true for a grant that found the bucket part spent")
		}
		if c.WantsSend() {
			t.Error("WantsSend: true for a grant into a bucket far larger than its cost")
		}
		b.Sent()
		a.Sent()
		a.Sent()
		for _, r := range []*limiter.Reservation{a, b, c} {
			_ = r.Settle(limiter.Spent{InputTokens: 1})
		}
	})
}
