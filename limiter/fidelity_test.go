package limiter_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluicehq/sluice/limiter"
)

// Anthropic counts output as generated: max_tokens above the output limit
// is admitted, and what is reserved is learned from the key's responses —
// the 90th percentile of the recent ones, never above max_tokens.
func TestOutputEstimateLearnedNotMaxTokens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := limiter.New(limiter.WithLimits(limiter.Limits{OutputTokens: 8000}), limiter.WithWindow(time.Hour))
		defer l.Close()
		req := limiter.Request{Model: "m", MaxOutputTokens: 16000}
		r := acquire(t, l, "k", req)
		if got := r.Cost()[limiter.OutputTokens]; got != 1024 {
			t.Fatalf("first reservation's output %d, want the default 1024 (nothing learned)", got)
		}
		_ = r.Settle(limiter.Spent{InputTokens: 10, OutputTokens: 30})
		for i := range 20 {
			r = acquire(t, l, "k", req)
			out := int64(30)
			if i == 0 {
				out = 3000 // one long answer among short ones
			}
			_ = r.Settle(limiter.Spent{InputTokens: 10, OutputTokens: out})
		}
		r = acquire(t, l, "k", req)
		if got := r.Cost()[limiter.OutputTokens]; got != 30 {
			t.Fatalf("output reserved %d after 21 answers of 30 tokens and one of 3000, want 30 (the 90th percentile)", got)
		}
		r.Release()
		r = acquire(t, l, "k", limiter.Request{Model: "m", MaxOutputTokens: 20})
		if got := r.Cost()[limiter.OutputTokens]; got != 20 {
			t.Fatalf("output reserved %d with max_tokens 20, want 20 (bounded by max_tokens)", got)
		}
		r.Release()
		// A response far longer than the estimate takes the bucket into debt.
		r = acquire(t, l, "k", req)
		_ = r.Settle(limiter.Spent{InputTokens: 10, OutputTokens: 12000})
		// 8000 less every answer settled (30, 3000, 19 of 30) or released
		// (the estimates 30 and 20) and the 12000: -7650, no refill.
		if rem := l.StatsFor("k").Remaining[limiter.OutputTokens]; rem != 8000-(30+3000+19*30+30+20+12000) {
			t.Fatalf("output level %v after a 12000-token answer, want -7650 (debt)", rem)
		}
	})
}

// The input reserved is what the provider counts: a prompt prefix it
// reported cached is not reserved again until its TTL runs out, and a
// response that reports no caching corrects the guess at once.
func TestCachedPrefixNotReserved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A minute's window: the TTLs are the provider's own.
		l := limiter.New(limiter.WithLimits(limiter.Limits{InputTokens: 1 << 30}))
		defer l.Close()
		prefixes := []limiter.Prefix{{Hash: 1, Bytes: 40000, TTL: 5 * time.Minute, Breakpoint: true}, {Hash: 2, Bytes: 80000, TTL: 5 * time.Minute, Breakpoint: true}}
		req := limiter.Request{Model: "m", InputTokens: 20400, Prefixes: prefixes}
		r := acquire(t, l, "k", req)
		if got := r.Cost()[limiter.InputTokens]; got != 20400 {
			t.Fatalf("first call reserved %d input tokens, want all 20400 (it writes the cache)", got)
		}
		_ = r.Settle(limiter.Spent{InputTokens: 20400, CacheWriteTokens: 20000})
		r = acquire(t, l, "k", req)
		if got := r.Cost()[limiter.InputTokens]; got != 400 {
			t.Fatalf("second call reserved %d, want 400 (20000 cached)", got)
		}
		_ = r.Settle(limiter.Spent{InputTokens: 400, CacheReadTokens: 20000})

		// A request sharing only the first breakpoint's prefix: its share.
		r = acquire(t, l, "k", limiter.Request{Model: "m", InputTokens: 20400, Prefixes: []limiter.Prefix{prefixes[0], {Hash: 3, Bytes: 80000, TTL: 5 * time.Minute, Breakpoint: true}}})
		if got := r.Cost()[limiter.InputTokens]; got != 10400 {
			t.Fatalf("call sharing the first prefix reserved %d, want 10400", got)
		}
		r.Release()

		time.Sleep(5*time.Minute + time.Second) // the TTL runs out
		r = acquire(t, l, "k", req)
		if got := r.Cost()[limiter.InputTokens]; got != 20400 {
			t.Fatalf("after the TTL reserved %d, want all 20400", got)
		}
		// The provider did not cache (say, the prefix was too short):
		// forgotten at once.
		_ = r.Settle(limiter.Spent{InputTokens: 20400})
		r = acquire(t, l, "k", req)
		if got := r.Cost()[limiter.InputTokens]; got != 20400 {
			t.Fatalf("after an uncached answer reserved %d, want all 20400", got)
		}
		r.Release()
	})
}

// A token wait is an estimate: a call whose deadline it would outlast is
// sent, into debt, rather than refused; the requests limit is a count and
// still refuses.
func TestDeadlineRefusesOnlyCertainWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := limiter.New(limiter.WithLimits(limiter.Limits{Requests: 3, InputTokens: 1000}))
		defer l.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		r := acquire(t, l, "k", limiter.Request{InputTokens: 1000})
		r.Release()
		start := time.Now()
		r, err := l.Acquire(ctx, "k", limiter.Request{InputTokens: 900})
		if err != nil {
			t.Fatalf("token wait of a minute with a 1s deadline: %v, want admitted", err)
		}
		if time.Since(start) != 0 {
			t.Fatalf("admitted after %v, want at once", time.Since(start))
		}
		r.Release()
		if rem := l.StatsFor("k").Remaining[limiter.InputTokens]; rem > -899 {
			t.Fatalf("input level %v, want -900 (debt)", rem)
		}
		r = acquire(t, l, "k", limiter.Request{InputTokens: 1})
		r.Release()
		_, err = l.Acquire(ctx, "k", limiter.Request{InputTokens: 1})
		var we *limiter.WaitError
		if !errors.As(err, &we) || we.Reason != limiter.ReasonFor(limiter.Requests) {
			t.Fatalf("fourth request within the minute: %v, want a requests WaitError", err)
		}
	})
}

// Remaining counts rounded to a thousand stand for anything within half a
// thousand: a level of the limiter's own up to half a thousand above is
// kept, so a header of 0 does not make the limiter hold back the last few
// hundred tokens of a bucket; a level above that is corrected to the
// reading as sent; a bucket's first reading, with no level of the
// limiter's own to keep, is taken at its lower bound. An exact reading is
// taken as it is.
func TestRoundedRemainingBand(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := limiter.New()
		defer l.Close()
		ctx := context.Background()
		observe := func(key string, remaining, rounding int64) {
			t.Helper()
			r := acquire(t, l, key, limiter.Request{InputTokens: 100, MaxOutputTokens: 10})
			_ = r.Observe(ctx, limiter.Observation{limiter.InputTokens: {Limit: 30000, Remaining: remaining, HasRemaining: true, Rounding: rounding}})
			_ = r.Settle(limiter.Spent{InputTokens: 100, OutputTokens: 10})
		}
		level := func(key string) float64 { return l.StatsFor(key).Remaining[limiter.InputTokens] }
		observe("k", 312, 0)
		if got := level("k"); got != 312 {
			t.Fatalf("level %v after an exact 312, want 312", got)
		}
		observe("k", 0, 1000) // this request's 100 brings the own level to 212
		if got := level("k"); got != 212 {
			t.Fatalf("level %v after a rounded 0 with an own level of 212, want 212 kept", got)
		}
		observe("k2", 2000, 0)
		observe("k2", 0, 1000) // own level 1900: above what a rounded 0 allows
		if got := level("k2"); got != 0 {
			t.Fatalf("level %v after a rounded 0 with an own level of 1900, want 0", got)
		}
		// The first reading of a bucket, rounded, is taken at its lower
		// bound: the limiter must not start above the provider.
		observe("k3", 2000, 1000)
		if got := level("k3"); got != 1500 {
			t.Fatalf("level %v after a first rounded 2000, want 1500", got)
		}
	})
}

// A provider reports a continuously refilled bucket's remaining as a whole
// number read when the request reached it, and has refilled since by the
// time the response is observed. A burst answered out of order must not
// make the limiter take such a reading as news: its own level, exact, is a
// fraction above the floored, earlier reading, and correcting it to the
// reading less every reservation possibly not counted yet would hold back
// most of the burst for nothing.
func TestBurstSurvivesFlooredReadings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const window = 3 * time.Second
		l := limiter.New(limiter.WithWindow(window))
		defer l.Close()
		ctx := context.Background()
		p := newFlooredBucket(t, 50, window)
		answer := p.answerer(ctx)
		const latency = 20 * time.Millisecond

		// The first response teaches the limit.
		r := acquire(t, l, "k", limiter.Request{InputTokens: 10})
		rem := p.arrive()
		time.Sleep(latency)
		answer(r, rem)

		// A burst of 20 reaches the provider in the reverse of its grant
		// order; the first granted, counted last, is answered first.
		burst := make([]*limiter.Reservation, 20)
		for i := range burst {
			burst[i] = acquire(t, l, "k", limiter.Request{InputTokens: 10})
		}
		time.Sleep(time.Millisecond)
		readings := make([]int64, len(burst))
		for i := len(burst) - 1; i >= 0; i-- {
			readings[i] = p.arrive()
		}
		time.Sleep(latency)
		for i, r := range burst {
			answer(r, readings[i])
		}

		// The provider has 29 and a fraction left: 29 may go at once.
		start := time.Now()
		for i := range 29 {
			r := acquire(t, l, "k", limiter.Request{InputTokens: 10})
			if w := time.Since(start); w > 0 {
				t.Fatalf("request %d of the 29 the provider has left waited %v (limiter's level %.2f), want none",
					i+1, w, l.StatsFor("k").Remaining[limiter.Requests])
			}
			p.arrive()
			r.Release()
		}
		if lvl := l.StatsFor("k").Remaining[limiter.Requests]; lvl >= 1 {
			t.Fatalf("level %.2f after the provider's last whole request went, want below 1", lvl)
		}
	})
}

// flooredBucket is a provider's requests bucket as the tests see it: it
// refills continuously at limit per window, admits a request while it holds
// a whole one, and reports its remaining rounded down to a whole request,
// as read when a request arrives.
type flooredBucket struct {
	t            *testing.T
	limit, level float64
	last         time.Time
	window       time.Duration
}

// newFlooredBucket returns a full bucket of limit requests per window.
func newFlooredBucket(t *testing.T, limit float64, window time.Duration) *flooredBucket {
	return &flooredBucket{t: t, limit: limit, level: limit, last: time.Now(), window: window}
}

// answerer returns what answers a request the bucket admitted: its
// remaining as the response's requests reading, then a settle.
func (b *flooredBucket) answerer(ctx context.Context) func(r *limiter.Reservation, remaining int64) {
	return func(r *limiter.Reservation, remaining int64) {
		_ = r.Observe(ctx, limiter.Observation{limiter.Requests: {Limit: int64(b.limit), Remaining: remaining, HasRemaining: true}})
		_ = r.Settle(limiter.Spent{InputTokens: 10, OutputTokens: 10})
	}
}

// arrive admits one request and returns the remaining it reports; it fails
// the test where the provider would answer 429.
func (b *flooredBucket) arrive() int64 {
	b.t.Helper()
	now := time.Now()
	b.level = min(b.limit, b.level+b.limit*float64(now.Sub(b.last))/float64(b.window))
	b.last = now
	if b.level < 1 {
		b.t.Fatalf("a request reached the provider with %.2f requests left: 429", b.level)
	}
	b.level--
	return int64(math.Floor(b.level))
}

// A burst granted while the provider's bucket is full: it stays full, and
// refills nothing, until the first request of the burst arrives, while the
// limiter's refills from the grant. The limiter's own level may be full
// too, or a fraction below (it learned the level from an answer, which
// left the provider a little earlier). Once the burst is spent, the limiter
// must not send the next request on refill only it counted.
func TestNoRefillCreditedWhileProviderFull(t *testing.T) {
	const window = 3 * time.Second
	const transit, latency = 30 * time.Millisecond, 20 * time.Millisecond
	for _, c := range []struct {
		name string
		idle time.Duration // from the first answer to the burst
	}{
		{"both full", window},
		// The provider is full again 60 ms after the first request, the
		// limiter, which learned its level 20 ms later, at 80 ms.
		{"limiter a sixth of a request below", 50 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := limiter.New(limiter.WithWindow(window))
				defer l.Close()
				ctx := context.Background()
				p := newFlooredBucket(t, 50, window)
				answer := p.answerer(ctx)

				r := acquire(t, l, "k", limiter.Request{InputTokens: 10})
				rem := p.arrive()
				time.Sleep(latency)
				answer(r, rem)
				time.Sleep(c.idle)

				burst := make([]*limiter.Reservation, 50)
				for i := range burst {
					burst[i] = acquire(t, l, "k", limiter.Request{InputTokens: 10})
				}
				time.Sleep(transit)
				readings := make([]int64, len(burst))
				for i := range burst {
					readings[i] = p.arrive()
				}
				time.Sleep(latency)
				for i, r := range burst {
					answer(r, readings[i])
				}

				// Paced: each request reaches the provider at once and
				// is answered at once.
				start := time.Now()
				for range 10 {
					r := acquire(t, l, "k", limiter.Request{InputTokens: 10})
					answer(r, p.arrive())
				}
				// Ten requests take 10/50 of the window once the
				// provider has refilled one; allow the latency and
				// transit above again.
				if el, most := time.Since(start), window/5+transit+latency; el > most {
					t.Fatalf("ten paced requests took %v, want at most %v", el, most)
				}
			})
		})
	}
}

// The take-back of refill the provider cannot have had is what refilled
// in transit, rounded up only where a whole unit refills within a second:
// at a limit of one request a minute, a grant answered 10 ms later has
// seen a six-thousandth of a request of refill, and the next request is
// due one window after the first, not two (as it was when every fraction
// was rounded up).
func TestRefillTakeBackIsRounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := limiter.New(limiter.WithWindow(time.Minute))
		defer l.Close()
		ctx := context.Background()
		learn := acquire(t, l, "k", limiter.Request{InputTokens: 10})
		_ = learn.Observe(ctx, limiter.Observation{limiter.Requests: {Limit: 1, Remaining: 0, HasRemaining: true}})
		_ = learn.Settle(limiter.Spent{InputTokens: 10})
		time.Sleep(time.Minute) // full again

		start := time.Now()
		r := acquire(t, l, "k", limiter.Request{InputTokens: 10})
		time.Sleep(10 * time.Millisecond)
		_ = r.Observe(ctx, limiter.Observation{limiter.Requests: {Limit: 1, Remaining: 0, HasRemaining: true}})
		_ = r.Settle(limiter.Spent{InputTokens: 10})
		wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		if _, err := l.Acquire(wctx, "k", limiter.Request{InputTokens: 10}); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el > time.Minute+time.Second {
			t.Fatalf("the next request waited until %v after the one before; want one window, %v", el, time.Minute)
		}
	})
}
