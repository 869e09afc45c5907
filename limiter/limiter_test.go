package limiter_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluicehq/sluice/limiter"
)

func acquire(t *testing.T, l *limiter.Limiter, key string, req limiter.Request) *limiter.Reservation {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := l.Acquire(ctx, key, req)
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	return r
}

// settled waits until every goroutine of the test's synctest bubble is
// blocked and checks that cond holds then.
func settled(t *testing.T, what string, cond func() bool) {
	t.Helper()
	synctest.Wait()
	if !cond() {
		t.Fatalf("not %s once every goroutine blocked", what)
	}
}

func TestRequestsPerWindowPaces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := limiter.New(limiter.WithLimits(limiter.Limits{Requests: 10}), limiter.WithWindow(500*time.Millisecond))
		defer l.Close()
		for range 10 {
			acquire(t, l, "k", limiter.Request{}).Release()
		}
		r := acquire(t, l, "k", limiter.Request{})
		waited, reason := r.Waited()
		r.Release()
		// One request refills in window/limit = 50ms.
		if reason != limiter.ReasonFor(limiter.Requests) || waited.Round(time.Microsecond) != 50*time.Millisecond {
			t.Fatalf("11th acquire waited %v for %q; want 50ms for requests", waited, reason)
		}
	})
}

// Under OpenAI's rule, max_tokens above the tokens limit is a refusal the
// provider documents: it fails at once.
func TestExceedsCapacityFailsAtOnceUnderMaxTokensRule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := limiter.New(limiter.WithLimits(limiter.Limits{Tokens: 1000}))
		defer l.Close()
		_, err := l.Acquire(context.Background(), "k", limiter.Request{MaxOutputTokens: 2000, Output: limiter.OutputAtMaxTokens})
		var ce *limiter.CapacityError
		if !errors.Is(err, limiter.ErrExceedsCapacity) || !errors.As(err, &ce) || ce.Kind != limiter.Tokens || ce.Need != 2000 || ce.Limit != 1000 {
			t.Fatalf("err = %v, want CapacityError{tokens 2000 > 1000}", err)
		}
	})
}

// A cost larger than a bucket is an estimate: it is admitted once the
// bucket is full, taking it into debt, and the next request waits for the
// debt to be repaid.
func TestOversizeEstimateAdmittedWhenBucketFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := limiter.New(limiter.WithLimits(limiter.Limits{InputTokens: 1000}), limiter.WithWindow(time.Second))
		defer l.Close()
		r := acquire(t, l, "k", limiter.Request{InputTokens: 100})
		r.Release()
		start := time.Now()
		big := acquire(t, l, "k", limiter.Request{InputTokens: 1500})
		if waited, reason := big.Waited(); reason != limiter.ReasonFor(limiter.InputTokens) || waited != 100*time.Millisecond {
			t.Fatalf("oversized request waited %v for %q; want 100ms for input_tokens (the bucket to refill)", waited, reason)
		}
		big.Release()
		if used := l.StatsFor("k").Used[limiter.InputTokens]; used != 1500 {
			t.Fatalf("used %v after the oversized request, want 1500 (500 of debt)", used)
		}
		next := acquire(t, l, "k", limiter.Request{InputTokens: 1})
		next.Release()
		// 100ms to fill, then 501 tokens of debt and need: 501ms.
		if el := time.Since(start); el != 601*time.Millisecond {
			t.Fatalf("the request after an oversized one went after %v, want 601ms (the debt repaid)", el)
		}
	})
}

func TestSettleCorrectsEstimate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := limiter.New(limiter.WithLimits(limiter.Limits{InputTokens: 10000, OutputTokens: 1000}), limiter.WithWindow(time.Hour))
		defer l.Close()
		r := acquire(t, l, "k", limiter.Request{Model: "m", InputBytes: 4000, MaxOutputTokens: 800})
		st := l.StatsFor("k")
		if got := st.Remaining[limiter.OutputTokens]; got != 200 {
			t.Fatalf("output remaining after reserving 800 = %v, want 200", got)
		}
		estIn := r.Cost()[limiter.InputTokens]
		if err := r.Settle(limiter.Spent{InputTokens: 2 * estIn, OutputTokens: 100}); err != nil {
			t.Fatal(err)
		}
		st = l.StatsFor("k")
		if got := st.Remaining[limiter.OutputTokens]; got != 900 {
			t.Fatalf("output remaining after settling 100 = %v, want 900", got)
		}
		if got, want := st.Remaining[limiter.InputTokens], float64(10000-2*estIn); got != want {
			t.Fatalf("input remaining = %v, want %v (charged the real usage)", got, want)
		}
		if l.BytesPerToken("m") >= 4 {
			t.Fatalf("ratio %v not calibrated down after an underestimate", l.BytesPerToken("m"))
		}
	})
}

func TestCancelledWaitersGiveBackTokens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := limiter.New(limiter.WithLimits(limiter.Limits{OutputTokens: 1000}), limiter.WithWindow(time.Hour))
		defer l.Close()
		first := acquire(t, l, "k", limiter.Request{MaxOutputTokens: 900})
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		errs := make(chan error, 5)
		for range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := l.Acquire(ctx, "k", limiter.Request{MaxOutputTokens: 500})
				errs <- err
			}()
		}
		settled(t, "5 waiters", func() bool { return l.StatsFor("k").Queued == 5 })
		cancel()
		wg.Wait()
		close(errs)
		for err := range errs {
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("waiter err = %v, want context.Canceled", err)
			}
		}
		if err := first.Cancel(); err != nil {
			t.Fatal(err)
		}
		st := l.StatsFor("k")
		if st.Remaining[limiter.OutputTokens] != 1000 || st.Queued != 0 || st.InFlight != 0 {
			t.Fatalf("after cancel: %+v, want full bucket, empty queue", st)
		}
	})
}

func TestConcurrencyFIFOAndPriority(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := limiter.New(limiter.WithConcurrency(1))
		defer l.Close()
		holder := acquire(t, l, "k", limiter.Request{})
		var mu sync.Mutex
		var order []string
		var wg sync.WaitGroup
		start := func(name string, p limiter.Priority, queued int) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := l.Acquire(context.Background(), "k", limiter.Request{Priority: p})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				order = append(order, name)
				mu.Unlock()
				r.Release()
			}()
			settled(t, name+" queued", func() bool { return l.StatsFor("k").Queued >= queued })
		}
		start("batch1", limiter.Batch, 1)
		start("batch2", limiter.Batch, 2)
		start("int1", limiter.Interactive, 3)
		start("int2", limiter.Interactive, 4)
		holder.Release()
		wg.Wait()
		want := []string{"int1", "int2", "batch1", "batch2"}
		for i := range want {
			if order[i] != want[i] {
				t.Fatalf("order = %v, want %v", order, want)
			}
		}
	})
}

func TestQueueFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := limiter.New(limiter.WithConcurrency(1), limiter.WithMaxQueue(1))
		defer l.Close()
		holder := acquire(t, l, "k", limiter.Request{})
		done := make(chan error, 1)
		go func() {
			r, err := l.Acquire(context.Background(), "k", limiter.Request{})
			if err == nil {
				r.Release()
			}
			done <- err
		}()
		settled(t, "a queued waiter", func() bool { return l.StatsFor("k").Queued >= 1 })
		if _, err := l.Acquire(context.Background(), "k", limiter.Request{}); !errors.Is(err, limiter.ErrQueueFull) {
			t.Fatalf("err = %v, want ErrQueueFull", err)
		}
		holder.Release()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

func TestDeadlineAwareAdmission(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := limiter.New(limiter.WithLimits(limiter.Limits{Requests: 1}), limiter.WithWindow(time.Hour))
		defer l.Close()
		acquire(t, l, "k", limiter.Request{}).Release()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		_, err := l.Acquire(ctx, "k", limiter.Request{})
		var we *limiter.WaitError
		if !errors.As(err, &we) || !errors.Is(err, limiter.ErrWouldExceedDeadline) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want *WaitError", err)
		}
		if we.Reason != limiter.ReasonFor(limiter.Requests) || we.Wait.Round(time.Microsecond) != time.Hour || we.Left != time.Second {
			t.Fatalf("WaitError = %+v, want a requests wait of 1h with 1s left", we)
		}
		if el := time.Since(start); el != 0 {
			t.Fatalf("rejection took %v; want at once", el)
		}
	})
}

func TestCooldown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := limiter.New()
		defer l.Close()
		if err := l.Cooldown(context.Background(), "k", time.Now().Add(150*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		r := acquire(t, l, "k", limiter.Request{})
		defer r.Release()
		if waited, reason := r.Waited(); reason != limiter.ReasonCooldown || waited != 150*time.Millisecond {
			t.Fatalf("waited %v for %q, want 150ms cooldown", waited, reason)
		}
		// Another key is not affected.
		r2 := acquire(t, l, "other", limiter.Request{})
		defer r2.Release()
		if waited, _ := r2.Waited(); waited != 0 {
			t.Fatalf("other key waited %v", waited)
		}
	})
}

func TestLearnedLimitsAndFirstWave(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := limiter.New(limiter.WithWindow(time.Hour), limiter.WithFirstWave(2))
		defer l.Close()
		a := acquire(t, l, "k", limiter.Request{})
		b := acquire(t, l, "k", limiter.Request{})
		third := make(chan *limiter.Reservation, 1)
		go func() {
			r, err := l.Acquire(context.Background(), "k", limiter.Request{})
			if err != nil {
				t.Error(err)
			}
			third <- r
		}()
		settled(t, "third acquire to queue behind the first wave", func() bool { return l.StatsFor("k").Queued == 1 })
		var o limiter.Observation
		// a's response: the provider counted a and one earlier request, not b,
		// which was sent after a.
		o[limiter.Requests] = limiter.Reading{Limit: 5, Remaining: 3, HasRemaining: true}
		if err := a.Observe(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		r := <-third
		st := l.StatsFor("k")
		if st.Limits[limiter.Requests] != 5 || st.Remaining[limiter.Requests] != 1 {
			t.Fatalf("stats = %+v, want limit 5 and remaining 1 (3 - b pending - the third)", st)
		}
		for _, x := range []*limiter.Reservation{a, b, r} {
			x.Release()
		}
	})
}

func TestExplicitLimitCapsLearned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := limiter.New(limiter.WithLimits(limiter.Limits{Requests: 10}), limiter.WithWindow(time.Hour))
		defer l.Close()
		var o limiter.Observation
		o[limiter.Requests] = limiter.Reading{Limit: 100, Remaining: 95, HasRemaining: true}
		if err := l.Observe(context.Background(), "k", o); err != nil {
			t.Fatal(err)
		}
		st := l.StatsFor("k")
		if rem := st.Remaining[limiter.Requests]; st.Limits[limiter.Requests] != 10 || rem != 5 {
			t.Fatalf("stats = %+v, want limit 10 (cap) and remaining 5 (cap minus the provider's usage)", st)
		}
	})
}

func TestCloseReleasesWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := limiter.New(limiter.WithConcurrency(1))
		holder := acquire(t, l, "k", limiter.Request{})
		errs := make(chan error, 3)
		for range 3 {
			go func() {
				_, err := l.Acquire(context.Background(), "k", limiter.Request{})
				errs <- err
			}()
		}
		settled(t, "3 waiters", func() bool { return l.StatsFor("k").Queued == 3 })
		l.Close()
		for range 3 {
			if err := <-errs; !errors.Is(err, limiter.ErrClosed) {
				t.Fatalf("err = %v, want ErrClosed", err)
			}
		}
		holder.Release()
		if _, err := l.Acquire(context.Background(), "k", limiter.Request{}); !errors.Is(err, limiter.ErrClosed) {
			t.Fatalf("after Close: %v", err)
		}
	})
}

func TestTenThousandWaitersCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := limiter.New(limiter.WithConcurrency(1))
		defer l.Close()
		holder := acquire(t, l, "k", limiter.Request{})
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for range 10000 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := l.Acquire(ctx, "k", limiter.Request{}); !errors.Is(err, context.Canceled) {
					t.Errorf("err = %v", err)
				}
			}()
		}
		settled(t, "10 000 waiters", func() bool { return l.StatsFor("k").Queued == 10000 })
		cancel()
		wg.Wait()
		holder.Release()
		if st := l.StatsFor("k"); st.Queued != 0 || st.InFlight != 0 {
			t.Fatalf("after cancelling: %+v", st)
		}
		// goleak in TestMain checks that no goroutine is left.
	})
}

func TestAIMDShrinksOnThrottle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := limiter.New(limiter.WithAIMD(limiter.AIMD{Initial: 10, Backoff: 0.5}))
		defer l.Close()
		for range 2 {
			acquire(t, l, "k", limiter.Request{}).Throttled()
		}
		if got := l.StatsFor("k").ConcurrencyLimit; got != 2 {
			t.Fatalf("cap after two throttles = %d, want 10*0.5*0.5 = 2", got)
		}
		a, b := acquire(t, l, "k", limiter.Request{}), acquire(t, l, "k", limiter.Request{})
		a.Settle(limiter.Spent{})
		b.Settle(limiter.Spent{})
		if got := l.StatsFor("k").ConcurrencyLimit; got != 3 {
			t.Fatalf("cap after a success at the cap = %d, want 3", got)
		}
	})
}

func TestUtilizationHook(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var fired []limiter.Kind
		l := limiter.New(limiter.WithLimits(limiter.Limits{Requests: 10}), limiter.WithWindow(time.Hour),
			limiter.WithUtilizationHook(0, func(key string, k limiter.Kind, u float64) {
				mu.Lock()
				fired = append(fired, k)
				mu.Unlock()
			}))
		defer l.Close()
		for range 9 {
			acquire(t, l, "k", limiter.Request{}).Release()
		}
		mu.Lock()
		defer mu.Unlock()
		if len(fired) != 1 || fired[0] != limiter.Requests {
			t.Fatalf("hook fired for %v, want once for requests (at 80%%)", fired)
		}
	})
}

// TestYieldedBatchGivingUpKeepsOneHead: a batch head that yields to an
// interactive acquire and then gives up must not pass on a head it no
// longer holds; the next acquire queues behind the interactive head.
// (Stats count a blocked head as queued.)
func TestYieldedBatchGivingUpKeepsOneHead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := limiter.New(limiter.WithConcurrency(1))
		defer l.Close()
		holder := acquire(t, l, "k", limiter.Request{})
		queued := func(n int) func() bool { return func() bool { return l.StatsFor("k").Queued == n } }
		bctx, bcancel := context.WithCancel(context.Background())
		batchErr := make(chan error, 1)
		go func() {
			_, err := l.Acquire(bctx, "k", limiter.Request{Priority: limiter.Batch})
			batchErr <- err
		}()
		settled(t, "batch head blocked", queued(1))
		type served struct {
			name string
			err  error
		}
		got := make(chan served, 2)
		run := func(name string, p limiter.Priority) {
			go func() {
				r, err := l.Acquire(context.Background(), "k", limiter.Request{Priority: p})
				got <- served{name, err}
				if err == nil {
					r.Release()
				}
			}()
		}
		run("interactive", limiter.Interactive)
		settled(t, "interactive queued", queued(2))
		bcancel()
		if err := <-batchErr; !errors.Is(err, context.Canceled) {
			t.Fatalf("batch err = %v, want context.Canceled", err)
		}
		settled(t, "cancelled batch gone", queued(1))
		run("late", limiter.Batch)
		settled(t, "late acquire queued behind the interactive head", queued(2))
		holder.Release()
		a, b := <-got, <-got
		if a.err != nil || b.err != nil || a.name != "interactive" || b.name != "late" {
			t.Fatalf("served %+v then %+v, want interactive then late", a, b)
		}
	})
}
