// Package storetest is the conformance suite of limiter.Store: every store
// — the in-memory one, the Redis one, yours — runs the same checks of the
// contract documented on limiter.Store, so that they cannot drift apart.
//
//	func TestStoreContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) limiter.Store { return mystore.New() })
//	}
//
// A shared store reads its own clock (Redis TIME) rather than the now it
// is given, so the checks run on the wall clock: they pass time.Now as
// now, sleep where time must pass, and bound what a level may be by the
// times read before and after the calls, not by a tolerance tuned for a
// machine. Times a store reports (a cool-down's end, a reading's reset)
// may be off by the store's round trip, up to Slack. Run outside a
// testing/synctest bubble.
package storetest

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/limiter"
)

// Slack is how far a time a store reports may be from the one the check
// expects: a shared store converts its clock's times to the caller's by
// the delay of its round trip.
const Slack = time.Second

// long is the window of the checks in which time must not count: a bucket
// of 1 000 refills by less than a token per hour of it.
const long = 1000 * time.Hour

// Run runs the checks as subtests of t, each against a new store from
// newStore. Checks of the optional extensions (limiter.StateObserver,
// limiter.KeyForgetter) run only when the store implements them.
func Run(t *testing.T, newStore func(t *testing.T) limiter.Store) {
	checks := []struct {
		name string
		f    func(*harness)
	}{
		{"ReserveWithinCapacity", reserveWithinCapacity},
		{"RefusalChargesNothingAndSaysWhen", refusalChargesNothing},
		{"ZeroCostIgnoresDebt", zeroCostIgnoresDebt},
		{"OversizeWaitsForFullThenDebt", oversizeWaitsForFull},
		{"AdjustRefundsAndCharges", adjustRefundsAndCharges},
		{"RefillsAtLimitPerWindow", refills},
		{"DebtIsRepaidAtTheRefillRate", debtRepaid},
		{"ObserveAdoptsLimits", observeAdoptsLimits},
		{"ObserveLowersNeverRaises", observeLowersNeverRaises},
		{"LearnedLimitChangeKeepsUsage", learnedLimitChange},
		{"CapsBoundLearnedLimits", capsBoundLearned},
		{"CapsChangeKeepsUsage", capsChange},
		{"Cooldown", cooldown},
		{"CooldownEnds", cooldownEnds},
		{"KeysAreIndependent", keysIndependent},
		{"NewKeyState", newKeyState},
		{"ConcurrentReservesChargeExactly", concurrentReserves},
		{"ObserveStateIsObserveThenState", observeState},
		{"ForgetKeepsAKeyInUse", forgetKeepsInUse},
		{"ForgetIdleKeyWorksAsNew", forgetIdle},
		{"ForgetRacingReserveLosesNoCharge", forgetRacingReserve},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			c.f(&harness{t: t, st: newStore(t), key: "storetest/" + c.name})
		})
	}
}

// harness runs one check against one store and key.
type harness struct {
	t   *testing.T
	st  limiter.Store
	key string
	p   limiter.Policy
}

func (h *harness) policy(window time.Duration, caps limiter.Limits) {
	h.p = limiter.Policy{Window: window, Caps: [limiter.NumKinds]int64{caps.Requests, caps.InputTokens, caps.OutputTokens, caps.Tokens}}
}

func (h *harness) reserve(c limiter.Cost) limiter.Decision {
	h.t.Helper()
	d, err := h.st.Reserve(context.Background(), h.key, c, &h.p, time.Now())
	if err != nil {
		h.t.Fatalf("Reserve(%v): %v", c, err)
	}
	return d
}

func (h *harness) mustReserve(c limiter.Cost) limiter.Decision {
	h.t.Helper()
	d := h.reserve(c)
	if !d.OK {
		h.t.Fatalf("Reserve(%v) denied for %q until %v, want it charged", c, d.Reason, d.RetryAt)
	}
	return d
}

func (h *harness) adjust(delta limiter.Cost) {
	h.t.Helper()
	if err := h.st.Adjust(context.Background(), h.key, delta, &h.p, time.Now()); err != nil {
		h.t.Fatalf("Adjust(%v): %v", delta, err)
	}
}

func (h *harness) observe(o limiter.Observation, pending limiter.Cost) {
	h.t.Helper()
	if err := h.st.Observe(context.Background(), h.key, o, pending, &h.p, time.Now()); err != nil {
		h.t.Fatalf("Observe: %v", err)
	}
}

func (h *harness) cooldown(until time.Time) {
	h.t.Helper()
	if err := h.st.Cooldown(context.Background(), h.key, until); err != nil {
		h.t.Fatalf("Cooldown: %v", err)
	}
}

func (h *harness) state() limiter.State {
	h.t.Helper()
	st, err := h.st.State(context.Background(), h.key, &h.p, time.Now())
	if err != nil {
		h.t.Fatalf("State: %v", err)
	}
	return st
}

// levels checks the limit and level of every bucket in st: want holds a
// limit and a level per kind. Levels are compared to within 0.01 token,
// what the long window refills in an hour.
func (h *harness) levels(what string, st limiter.State, want [limiter.NumKinds][2]float64) {
	h.t.Helper()
	for k, b := range st.Buckets {
		if float64(b.Limit) != want[k][0] || math.Abs(b.Level-want[k][1]) > 0.01 {
			h.t.Fatalf("%s: %s bucket has limit %d, level %v; want %v, %v", what, limiter.Kind(k), b.Limit, b.Level, want[k][0], want[k][1])
		}
	}
}

// within checks that got is want, to within Slack.
func (h *harness) within(what string, got, want time.Time) {
	h.t.Helper()
	if d := got.Sub(want); d < -Slack || d > Slack {
		h.t.Fatalf("%s is %v, want %v (off by %v)", what, got, want, d)
	}
}

// wait checks a refusal: its reason and that it says to retry after wait.
func (h *harness) wait(d limiter.Decision, reason limiter.Reason, wait time.Duration) {
	h.t.Helper()
	if d.OK || d.Reason != reason {
		h.t.Fatalf("decision OK=%v reason %q, want a refusal for %q", d.OK, d.Reason, reason)
	}
	h.within("RetryAt", d.RetryAt, time.Now().Add(wait))
}

func frac(f float64) time.Duration { return time.Duration(f * float64(long)) }

func reserveWithinCapacity(h *harness) {
	h.policy(long, limiter.Limits{Requests: 10, InputTokens: 1000, OutputTokens: 100})
	d := h.mustReserve(limiter.Cost{1, 100, 60, 0})
	want := [limiter.NumKinds][2]float64{{10, 9}, {1000, 900}, {100, 40}, {0, 0}}
	h.levels("Decision.State after a reserve", d.State, want)
	st := h.state()
	h.levels("State after a reserve", st, want)
	if st.Learned || !st.CooldownUntil.IsZero() {
		h.t.Fatalf("State: learned %v, cool-down %v; want neither", st.Learned, st.CooldownUntil)
	}
}

// A refusal charges no bucket, and names the bucket that waits longest.
func refusalChargesNothing(h *harness) {
	h.policy(long, limiter.Limits{Requests: 10, InputTokens: 1000, OutputTokens: 100})
	h.mustReserve(limiter.Cost{1, 100, 60, 0})
	want := [limiter.NumKinds][2]float64{{10, 9}, {1000, 900}, {100, 40}, {0, 0}}
	d := h.reserve(limiter.Cost{1, 0, 60, 0})
	h.wait(d, limiter.ReasonFor(limiter.OutputTokens), frac(0.2)) // 20 tokens at 100 per window
	h.levels("Decision.State after a refusal", d.State, want)
	h.levels("State after a refusal", h.state(), want)
	// Input lacks 100 (a tenth of a window), output 20 (a fifth): output.
	h.wait(h.reserve(limiter.Cost{1, 1000, 60, 0}), limiter.ReasonFor(limiter.OutputTokens), frac(0.2))
	// Output lacks 5 (a twentieth): input.
	h.wait(h.reserve(limiter.Cost{1, 1000, 45, 0}), limiter.ReasonFor(limiter.InputTokens), frac(0.1))
	h.levels("State after three refusals", h.state(), want)
}

// A cost that does not draw on a bucket is not held back by its debt.
func zeroCostIgnoresDebt(h *harness) {
	h.policy(long, limiter.Limits{Requests: 10, InputTokens: 100})
	h.mustReserve(limiter.Cost{1, 100, 0, 0})
	h.adjust(limiter.Cost{0, 50, 0, 0})
	h.mustReserve(limiter.Cost{1, 0, 0, 0})
	h.wait(h.reserve(limiter.Cost{1, 1, 0, 0}), limiter.ReasonFor(limiter.InputTokens), frac(0.51))
}

// A cost larger than a bucket waits for the bucket to be full, is then
// charged in full, and the debt delays what follows.
func oversizeWaitsForFull(h *harness) {
	h.policy(long, limiter.Limits{Requests: 10, InputTokens: 1000})
	h.mustReserve(limiter.Cost{1, 100, 0, 0})
	h.wait(h.reserve(limiter.Cost{1, 1500, 0, 0}), limiter.ReasonFor(limiter.InputTokens), frac(0.1))
	h.adjust(limiter.Cost{0, -100, 0, 0}) // refunded: full
	d := h.mustReserve(limiter.Cost{1, 1500, 0, 0})
	h.levels("after an oversized reserve", d.State, [limiter.NumKinds][2]float64{{10, 8}, {1000, -500}, {0, 0}, {0, 0}})
	h.wait(h.reserve(limiter.Cost{1, 1, 0, 0}), limiter.ReasonFor(limiter.InputTokens), frac(0.501))
}

func adjustRefundsAndCharges(h *harness) {
	h.policy(long, limiter.Limits{OutputTokens: 100})
	h.mustReserve(limiter.Cost{1, 0, 80, 0})
	lv := func(what string, out float64) {
		h.t.Helper()
		h.levels(what, h.state(), [limiter.NumKinds][2]float64{{0, 0}, {0, 0}, {100, out}, {0, 0}})
	}
	h.adjust(limiter.Cost{0, 0, -50, 0})
	lv("after a refund of 50", 70)
	h.adjust(limiter.Cost{0, 0, -500, 0})
	lv("after a refund above the limit", 100)
	h.adjust(limiter.Cost{0, 0, 150, 0})
	lv("after a charge of 150", -50)
	h.adjust(limiter.Cost{5, 5, 0, 5}) // unlimited buckets: nothing to charge
	lv("after charging unlimited buckets", -50)
}

// between checks a level that refilled from level0 at rate per window from
// some moment in [t0, t1] to some moment in [t2, t3], capped at limit.
func (h *harness) between(what string, got, level0, limit float64, window time.Duration, t0, t1, t2, t3 time.Time) {
	h.t.Helper()
	lo := min(limit, level0+limit*float64(t2.Sub(t1))/float64(window))
	hi := min(limit, level0+limit*float64(t3.Sub(t0))/float64(window))
	if got < lo-1e-6 || got > hi+1e-6 {
		h.t.Fatalf("%s: level %v, want between %v and %v", what, got, lo, hi)
	}
}

func refills(h *harness) {
	const window = time.Second
	h.policy(window, limiter.Limits{Requests: 100})
	t0 := time.Now()
	h.mustReserve(limiter.Cost{100})
	t1 := time.Now()
	time.Sleep(window / 5)
	t2 := time.Now()
	st := h.state()
	t3 := time.Now()
	h.between("a fifth of a window after emptying", st.Buckets[limiter.Requests].Level, 0, 100, window, t0, t1, t2, t3)
	time.Sleep(window + window/10)
	if lvl := h.state().Buckets[limiter.Requests].Level; lvl != 100 {
		h.t.Fatalf("level %v a window later, want 100 (full, never above)", lvl)
	}
}

// A debt of several windows is repaid at the refill rate, however long
// that takes: a store that expires keys must not forget it.
func debtRepaid(h *harness) {
	const window = 100 * time.Millisecond
	h.policy(window, limiter.Limits{InputTokens: 100})
	t0 := time.Now()
	h.mustReserve(limiter.Cost{0, 100, 0, 0})
	h.adjust(limiter.Cost{0, 900, 0, 0}) // -900: nine windows to repay
	t1 := time.Now()
	time.Sleep(5 * window)
	t2 := time.Now()
	st := h.state()
	t3 := time.Now()
	h.between("five windows into a debt of nine", st.Buckets[limiter.InputTokens].Level, -900, 100, window, t0, t1, t2, t3)
}

func observeAdoptsLimits(h *harness) {
	h.policy(long, limiter.Limits{})
	reset := time.Now().Add(20 * time.Second)
	h.observe(limiter.Observation{
		limiter.Requests:     {Limit: 50, Remaining: 7, HasRemaining: true, Reset: reset},
		limiter.InputTokens:  {Limit: 1000},                      // a limit alone: the bucket starts full
		limiter.OutputTokens: {Remaining: 5, HasRemaining: true}, // no limit known: stays unlimited
	}, limiter.Cost{2})
	st := h.state()
	h.levels("after observing", st, [limiter.NumKinds][2]float64{{50, 5}, {1000, 1000}, {0, 0}, {0, 0}})
	if !st.Learned || st.Buckets[limiter.Requests].Learned != 50 || st.Buckets[limiter.InputTokens].Learned != 1000 {
		h.t.Fatalf("learned %v, learned limits %d and %d; want true, 50 and 1000", st.Learned, st.Buckets[limiter.Requests].Learned, st.Buckets[limiter.InputTokens].Learned)
	}
	h.within("the requests reset", st.Buckets[limiter.Requests].Reset, reset)
	if r := st.Buckets[limiter.InputTokens].Reset; !r.IsZero() {
		h.t.Fatalf("input reset %v, want none reported", r)
	}
	// An observation with no reading changes nothing and learns nothing.
	h.key += "/empty"
	h.observe(limiter.Observation{}, limiter.Cost{})
	if h.state().Learned {
		h.t.Fatal("an empty observation marked the key learned")
	}
}

// Observe lowers a level above what the reading allows (Remaining less
// pending) and keeps one at or below it: reservations the provider has not
// seen yet are still owed.
func observeLowersNeverRaises(h *harness) {
	h.policy(long, limiter.Limits{})
	lvl := func(what string, want float64) {
		h.t.Helper()
		h.levels(what, h.state(), [limiter.NumKinds][2]float64{{50, want}, {0, 0}, {0, 0}, {0, 0}})
	}
	rd := func(remaining int64) limiter.Observation {
		return limiter.Observation{limiter.Requests: {Limit: 50, Remaining: remaining, HasRemaining: true}}
	}
	h.observe(rd(7), limiter.Cost{})
	lvl("after remaining 7", 7)
	h.observe(rd(40), limiter.Cost{})
	lvl("after remaining 40 (kept: never raised)", 7)
	h.observe(rd(9), limiter.Cost{2})
	lvl("after remaining 9 less 2 pending (kept: within)", 7)
	h.observe(rd(9), limiter.Cost{4})
	lvl("after remaining 9 less 4 pending (lowered)", 5)
}

// A new learned limit keeps what was used of the old one.
func learnedLimitChange(h *harness) {
	h.policy(long, limiter.Limits{})
	lim := func(limit int64) limiter.Observation {
		return limiter.Observation{limiter.Requests: {Limit: limit}}
	}
	h.observe(limiter.Observation{limiter.Requests: {Limit: 100, Remaining: 60, HasRemaining: true}}, limiter.Cost{})
	h.observe(lim(200), limiter.Cost{})
	h.levels("after the limit rose to 200", h.state(), [limiter.NumKinds][2]float64{{200, 160}, {0, 0}, {0, 0}, {0, 0}})
	h.observe(lim(50), limiter.Cost{})
	h.levels("after the limit fell to 50", h.state(), [limiter.NumKinds][2]float64{{50, 10}, {0, 0}, {0, 0}, {0, 0}})
}

// The limit in effect is min(learned, cap); under a lower cap the level is
// the cap less what the provider says is used.
func capsBoundLearned(h *harness) {
	h.policy(long, limiter.Limits{Requests: 10})
	h.observe(limiter.Observation{limiter.Requests: {Limit: 100, Remaining: 95, HasRemaining: true}}, limiter.Cost{})
	st := h.state()
	h.levels("under a cap of 10", st, [limiter.NumKinds][2]float64{{10, 5}, {0, 0}, {0, 0}, {0, 0}})
	if st.Buckets[limiter.Requests].Learned != 100 {
		h.t.Fatalf("learned limit %d, want 100", st.Buckets[limiter.Requests].Learned)
	}
	h.policy(long, limiter.Limits{})
	h.levels("with the cap lifted", h.state(), [limiter.NumKinds][2]float64{{100, 95}, {0, 0}, {0, 0}, {0, 0}})
}

// A policy's caps may change between calls: the new limit keeps what was
// used; a bucket that becomes unlimited forgets its level, and one that
// gets a limit again starts full.
func capsChange(h *harness) {
	h.policy(long, limiter.Limits{Requests: 10})
	h.mustReserve(limiter.Cost{4})
	h.policy(long, limiter.Limits{Requests: 20})
	h.levels("cap raised to 20", h.state(), [limiter.NumKinds][2]float64{{20, 16}, {0, 0}, {0, 0}, {0, 0}})
	h.policy(long, limiter.Limits{})
	h.levels("cap lifted", h.state(), [limiter.NumKinds][2]float64{{0, 0}, {0, 0}, {0, 0}, {0, 0}})
	h.mustReserve(limiter.Cost{100})
	h.policy(long, limiter.Limits{Requests: 10})
	h.levels("cap of 10 again", h.state(), [limiter.NumKinds][2]float64{{10, 10}, {0, 0}, {0, 0}, {0, 0}})
}

func cooldown(h *harness) {
	h.policy(long, limiter.Limits{Requests: 10})
	until := time.Now().Add(10 * time.Minute)
	h.cooldown(until)
	d := h.reserve(limiter.Cost{1})
	if d.OK || d.Reason != limiter.ReasonCooldown {
		h.t.Fatalf("reserve during a cool-down: OK=%v reason %q, want a refusal for cooldown", d.OK, d.Reason)
	}
	h.within("RetryAt", d.RetryAt, until)
	h.levels("after a refusal for the cool-down", h.state(), [limiter.NumKinds][2]float64{{10, 10}, {0, 0}, {0, 0}, {0, 0}})
	h.within("State.CooldownUntil", h.state().CooldownUntil, until)
	h.cooldown(time.Now().Add(time.Minute)) // earlier: never shortens it
	h.within("RetryAt after an earlier cool-down", h.reserve(limiter.Cost{1}).RetryAt, until)
	h.cooldown(until.Add(5 * time.Minute)) // later: extends it
	h.within("RetryAt after a later cool-down", h.reserve(limiter.Cost{1}).RetryAt, until.Add(5*time.Minute))
	// A key with no limits at all cools down too.
	h.key += "/unlimited"
	h.policy(long, limiter.Limits{})
	h.cooldown(until)
	if d := h.reserve(limiter.Cost{1}); d.OK || d.Reason != limiter.ReasonCooldown {
		h.t.Fatalf("reserve of an unlimited key during a cool-down: OK=%v reason %q", d.OK, d.Reason)
	}
}

// A cool-down ends at until, and then no longer shows in State; one whose
// until has passed has no effect.
func cooldownEnds(h *harness) {
	h.policy(long, limiter.Limits{Requests: 10})
	h.cooldown(time.Now().Add(-time.Second))
	d := h.mustReserve(limiter.Cost{1})
	if !d.State.CooldownUntil.IsZero() {
		h.t.Fatalf("a cool-down in the past shows until %v, want none", d.State.CooldownUntil)
	}
	until := time.Now().Add(100 * time.Millisecond)
	h.cooldown(until)
	if d := h.reserve(limiter.Cost{1}); d.OK {
		h.t.Fatal("charged during a cool-down")
	}
	time.Sleep(time.Until(until) + Slack/10)
	d = h.reserve(limiter.Cost{1})
	if !d.OK && d.Reason == limiter.ReasonCooldown && d.RetryAt.After(time.Now().Add(Slack)) {
		h.t.Fatalf("still cooling down after its end: %+v", d)
	}
	for d.Reason == limiter.ReasonCooldown { // its end may be off by the round trip
		time.Sleep(time.Until(d.RetryAt) + time.Millisecond)
		d = h.reserve(limiter.Cost{1})
	}
	if !d.OK {
		h.t.Fatalf("reserve after the cool-down: %+v", d)
	}
	if cd := h.state().CooldownUntil; !cd.IsZero() {
		h.t.Fatalf("State.CooldownUntil is %v after the cool-down ended, want zero (none)", cd)
	}
}

func keysIndependent(h *harness) {
	h.policy(long, limiter.Limits{Requests: 10})
	other := *h
	other.key += "/other"
	h.mustReserve(limiter.Cost{10})
	h.cooldown(time.Now().Add(time.Hour))
	d := other.mustReserve(limiter.Cost{1})
	h.levels("another key", d.State, [limiter.NumKinds][2]float64{{10, 9}, {0, 0}, {0, 0}, {0, 0}})
}

// A key never used reads as full buckets under the caps, nothing learned,
// no cool-down.
func newKeyState(h *harness) {
	h.policy(long, limiter.Limits{Requests: 10, Tokens: 500})
	st := h.state()
	h.levels("a new key", st, [limiter.NumKinds][2]float64{{10, 10}, {0, 0}, {0, 0}, {500, 500}})
	if st.Learned || !st.CooldownUntil.IsZero() {
		h.t.Fatalf("a new key: learned %v, cool-down %v; want neither", st.Learned, st.CooldownUntil)
	}
}

// Concurrent reserves charge every grant exactly once and grant no more
// than the bucket holds, while other operations run on the key.
func concurrentReserves(h *harness) {
	h.policy(long, limiter.Limits{Requests: 100, Tokens: 10000})
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	ctx := context.Background()
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				d, err := h.st.Reserve(ctx, h.key, limiter.Cost{1, 0, 0, 10}, &h.p, time.Now())
				if err != nil {
					h.t.Error(err)
					return
				}
				if d.OK {
					mu.Lock()
					granted++
					mu.Unlock()
				}
				// Operations that must not disturb the counts.
				var err2 error
				switch g % 4 {
				case 0:
					err2 = h.st.Adjust(ctx, h.key, limiter.Cost{0, 0, 0, 5}, &h.p, time.Now())
					if err2 == nil {
						err2 = h.st.Adjust(ctx, h.key, limiter.Cost{0, 0, 0, -5}, &h.p, time.Now())
					}
				case 1:
					_, err2 = h.st.State(ctx, h.key, &h.p, time.Now())
				case 2:
					err2 = h.st.Observe(ctx, h.key, limiter.Observation{limiter.InputTokens: {Limit: 1000}}, limiter.Cost{}, &h.p, time.Now())
				case 3:
					err2 = h.st.Cooldown(ctx, h.key, time.Now().Add(-time.Second))
				}
				if err2 != nil {
					h.t.Error(err2)
					return
				}
			}
		}()
	}
	wg.Wait()
	if granted != 100 {
		h.t.Fatalf("%d of 200 reserves granted from a bucket of 100, want 100", granted)
	}
	h.levels("after 100 grants", h.state(), [limiter.NumKinds][2]float64{{100, 0}, {1000, 1000}, {0, 0}, {10000, 9000}})
}

func observeState(h *harness) {
	so, ok := h.st.(limiter.StateObserver)
	if !ok {
		h.t.Skip("the store does not implement limiter.StateObserver")
	}
	h.policy(long, limiter.Limits{Tokens: 1000})
	h.mustReserve(limiter.Cost{1, 0, 0, 100})
	got, err := so.ObserveState(context.Background(), h.key, limiter.Observation{limiter.Requests: {Limit: 50, Remaining: 20, HasRemaining: true}}, limiter.Cost{3}, &h.p, time.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	want := [limiter.NumKinds][2]float64{{50, 17}, {0, 0}, {0, 0}, {1000, 900}}
	h.levels("ObserveState's state", got, want)
	h.levels("State after ObserveState", h.state(), want)
	if !got.Learned {
		h.t.Fatal("ObserveState's state is not learned")
	}
}

func forgetter(h *harness) limiter.KeyForgetter {
	f, ok := h.st.(limiter.KeyForgetter)
	if !ok {
		h.t.Skip("the store does not implement limiter.KeyForgetter")
	}
	return f
}

// Forget never loses what a key in use owes: its levels and cool-down.
func forgetKeepsInUse(h *harness) {
	f := forgetter(h)
	h.policy(long, limiter.Limits{Requests: 10})
	h.mustReserve(limiter.Cost{4})
	f.Forget(h.key)
	h.levels("after Forget of a key in use", h.state(), [limiter.NumKinds][2]float64{{10, 6}, {0, 0}, {0, 0}, {0, 0}})
	until := time.Now().Add(time.Hour)
	h.cooldown(until)
	f.Forget(h.key)
	h.within("RetryAt after Forget of a key cooling down", h.reserve(limiter.Cost{1}).RetryAt, until)
}

// A key forgotten once idle works as a new key.
func forgetIdle(h *harness) {
	f := forgetter(h)
	const window = 50 * time.Millisecond
	h.policy(window, limiter.Limits{Requests: 10})
	h.mustReserve(limiter.Cost{10})
	time.Sleep(3 * window) // full again, and untouched for a window
	f.Forget(h.key)
	h.levels("a forgotten key", h.mustReserve(limiter.Cost{10}).State, [limiter.NumKinds][2]float64{{10, 0}, {0, 0}, {0, 0}, {0, 0}})
}

// Forget racing a reserve on an idle key loses no charge: the level after
// the reserve shows it, less only what refilled since. Many keys race at
// once, so that a store which drops a key between an operation's lookup and
// its update shows within a few rounds.
func forgetRacingReserve(h *harness) {
	f := forgetter(h)
	const window, keys = 100 * time.Millisecond, 64
	h.policy(window, limiter.Limits{Requests: 1000})
	ctx := context.Background()
	for round := range 5 {
		time.Sleep(window + window/2) // every key idle: forgettable
		var wg sync.WaitGroup
		for i := range keys {
			key := fmt.Sprintf("%s/%d", h.key, i)
			var done atomic.Bool
			wg.Add(2)
			go func() {
				defer wg.Done()
				for !done.Load() {
					f.Forget(key)
				}
			}()
			go func() {
				defer wg.Done()
				defer done.Store(true)
				t0 := time.Now()
				d, err := h.st.Reserve(ctx, key, limiter.Cost{1000}, &h.p, t0)
				if err != nil || !d.OK {
					h.t.Errorf("reserve of a full bucket: %+v, %v", d, err)
					return
				}
				st, err := h.st.State(ctx, key, &h.p, time.Now())
				t3 := time.Now()
				if err != nil {
					h.t.Error(err)
					return
				}
				if lvl, hi := st.Buckets[limiter.Requests].Level, 1000*float64(t3.Sub(t0))/float64(window); lvl > hi+1e-6 {
					h.t.Errorf("round %d, key %d: level %v after a reserve of the whole bucket, want at most %v (what refilled since): the charge was lost", round, i, lvl, hi)
				}
			}()
		}
		wg.Wait()
		if h.t.Failed() {
			return
		}
	}
}
