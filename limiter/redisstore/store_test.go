package redisstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/limiter"
	"github.com/sluicehq/sluice/limiter/redisstore"
	"github.com/sluicehq/sluice/limiter/redisstore/redistest"
)

func TestReserveIsAtomicAcrossBuckets(t *testing.T) {
	srv := redistest.Start(t)
	st := newStore(t, newClient(t, srv))
	p := policy(time.Hour, limiter.Limits{Requests: 10, OutputTokens: 100})

	if d := reserve(t, st, "k", limiter.Cost{1, 0, 60, 0}, p); !d.OK {
		t.Fatalf("first reserve denied: %+v", d)
	}
	d := reserve(t, st, "k", limiter.Cost{1, 0, 60, 0}, p)
	if d.OK || d.Reason != limiter.ReasonFor(limiter.OutputTokens) {
		t.Fatalf("second reserve = OK %v reason %q, want denied for output_tokens", d.OK, d.Reason)
	}
	// The denied reserve charged nothing, not even the request bucket.
	if got := d.State.Buckets[limiter.Requests].Level; got < 8.99 || got > 9.01 {
		t.Fatalf("requests level after a denied reserve = %v, want 9", got)
	}
	if got := d.State.Buckets[limiter.OutputTokens].Level; got < 39.9 || got > 40.1 {
		t.Fatalf("output level = %v, want 40", got)
	}
	// Retry when 20 tokens have refilled at 100/hour: 12 minutes.
	if w := time.Until(d.RetryAt); w < 11*time.Minute || w > 13*time.Minute {
		t.Fatalf("RetryAt in %v, want about 12m", w)
	}
}

func TestAdjustRefundsAndCharges(t *testing.T) {
	srv := redistest.Start(t)
	st := newStore(t, newClient(t, srv))
	ctx := context.Background()
	p := policy(time.Hour, limiter.Limits{OutputTokens: 100})

	reserve(t, st, "k", limiter.Cost{1, 0, 80, 0}, p)
	// Settle: 80 reserved, 30 used.
	if err := st.Adjust(ctx, "k", limiter.Cost{0, 0, -50, 0}, p, time.Now()); err != nil {
		t.Fatal(err)
	}
	s, err := st.State(ctx, "k", p, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Buckets[limiter.OutputTokens].Level; got < 69.9 || got > 70.1 {
		t.Fatalf("level after refund = %v, want 70", got)
	}
	// A refund never lifts a bucket above its limit.
	if err := st.Adjust(ctx, "k", limiter.Cost{0, 0, -500, 0}, p, time.Now()); err != nil {
		t.Fatal(err)
	}
	if s, _ = st.State(ctx, "k", p, time.Now()); s.Buckets[limiter.OutputTokens].Level != 100 {
		t.Fatalf("level after a large refund = %v, want the limit 100", s.Buckets[limiter.OutputTokens].Level)
	}
	// An underestimate puts the bucket into debt.
	if err := st.Adjust(ctx, "k", limiter.Cost{0, 0, 150, 0}, p, time.Now()); err != nil {
		t.Fatal(err)
	}
	if s, _ = st.State(ctx, "k", p, time.Now()); s.Buckets[limiter.OutputTokens].Level > -49.9 {
		t.Fatalf("level after a charge = %v, want -50", s.Buckets[limiter.OutputTokens].Level)
	}
}

// A cost larger than a bucket is an estimate the provider may still
// accept: it waits for the bucket to be full, then takes it into debt.
func TestReserveLargerThanCapacityWaitsForFullThenDebts(t *testing.T) {
	srv := redistest.Start(t)
	st := newStore(t, newClient(t, srv))
	p := policy(time.Minute, limiter.Limits{Requests: 10, InputTokens: 1000})
	ctx := context.Background()

	if d, err := st.Reserve(ctx, "k", limiter.Cost{1, 100, 0, 0}, p, time.Now()); err != nil || !d.OK {
		t.Fatalf("small reserve: %+v %v", d, err)
	}
	d, err := st.Reserve(ctx, "k", limiter.Cost{1, 1500, 0, 0}, p, time.Now())
	if err != nil || d.OK || d.Reason != limiter.ReasonFor(limiter.InputTokens) {
		t.Fatalf("oversized reserve with the bucket not full: %+v %v, want a wait for input_tokens", d, err)
	}
	// The wait is for the 100 tokens missing to a full bucket: 6 s of a minute.
	if w := time.Until(d.RetryAt); w > 6500*time.Millisecond || w < 4*time.Second {
		t.Fatalf("wait %v, want about 6s (the bucket refilled to full)", w)
	}
	// Refund the small reservation instead of waiting for the refill.
	if err := st.Adjust(ctx, "k", limiter.Cost{0, -100, 0, 0}, p, time.Now()); err != nil {
		t.Fatal(err)
	}
	d, err = st.Reserve(ctx, "k", limiter.Cost{1, 1500, 0, 0}, p, time.Now())
	if err != nil || !d.OK {
		t.Fatalf("oversized reserve with the bucket full: %+v %v, want it charged", d, err)
	}
	if lvl := d.State.Buckets[limiter.InputTokens].Level; lvl > -499 || lvl < -501 {
		t.Fatalf("level %v, want -500 (debt)", lvl)
	}
}

func TestServerClockIgnoresCallerSkew(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newClient(t, srv)
	a, b := newStore(t, rdb), newStore(t, rdb)
	p := policy(time.Minute, limiter.Limits{Requests: 2})
	ctx := context.Background()

	for range 2 {
		if d, err := a.Reserve(ctx, "k", limiter.Cost{1}, p, time.Now()); err != nil || !d.OK {
			t.Fatalf("reserve: %+v %v", d, err)
		}
	}
	// B's clock is an hour ahead. On its clock the bucket would have
	// refilled long ago; on Redis's it has not.
	skewed := time.Now().Add(time.Hour)
	d, err := b.Reserve(ctx, "k", limiter.Cost{1}, p, skewed)
	if err != nil {
		t.Fatal(err)
	}
	if d.OK {
		t.Fatal("a caller an hour ahead was granted from an empty bucket")
	}
	// RetryAt is on B's clock: about 30s (one request at 2/min) after its now.
	if w := d.RetryAt.Sub(skewed); w < 25*time.Second || w > 31*time.Second {
		t.Fatalf("RetryAt is %v after the caller's now, want about 30s", w)
	}
}

func TestLearnedLimitsAndCooldownAreShared(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newClient(t, srv)
	a, b := newStore(t, rdb), newStore(t, rdb)
	p := policy(time.Minute, limiter.Limits{})
	ctx := context.Background()

	reset := time.Now().Add(20 * time.Second)
	o := limiter.Observation{limiter.Requests: {Limit: 50, Remaining: 7, HasRemaining: true, Reset: reset}}
	if err := a.Observe(ctx, "k", o, limiter.Cost{}, p, time.Now()); err != nil {
		t.Fatal(err)
	}
	s, err := b.State(ctx, "k", p, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r := s.Buckets[limiter.Requests]
	if !s.Learned || r.Limit != 50 || r.Learned != 50 || r.Level < 7 || r.Level > 7.5 {
		t.Fatalf("B sees %+v learned=%v, want limit 50 level 7", r, s.Learned)
	}
	if d := r.Reset.Sub(reset); d < -50*time.Millisecond || d > 50*time.Millisecond {
		t.Fatalf("reset off by %v", d)
	}

	until := time.Now().Add(2 * time.Second)
	if err := a.Cooldown(ctx, "k", until); err != nil {
		t.Fatal(err)
	}
	// An earlier until never shortens it.
	if err := b.Cooldown(ctx, "k", time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	d := reserve(t, b, "k", limiter.Cost{1}, p)
	if d.OK || d.Reason != limiter.ReasonCooldown {
		t.Fatalf("B reserved during A's cool-down: %+v", d)
	}
	if off := d.RetryAt.Sub(until); off < -50*time.Millisecond || off > 50*time.Millisecond {
		t.Fatalf("cool-down ends %v away from until", off)
	}
}

func TestKeysAreHashedNamespacedAndExpire(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newClient(t, srv)
	st := newStore(t, rdb, redisstore.WithPrefix("fleet"), redisstore.WithTTL(time.Minute))
	ctx := context.Background()
	key := "sk-ant-fingerprint/claude-model"
	p := policy(time.Second, limiter.Limits{Requests: 5})
	reserve(t, st, key, limiter.Cost{1}, p)
	if err := st.Cooldown(ctx, key, time.Now().Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Fatalf("keys = %v, want the buckets and the cool-down", keys)
	}
	var tag string
	for _, k := range keys {
		if strings.Contains(k, "claude") || strings.Contains(k, "sk-ant") {
			t.Fatalf("redis key %q reveals the limiter key", k)
		}
		i, j := strings.Index(k, "{"), strings.Index(k, "}")
		if !strings.HasPrefix(k, "fleet:{") || j < i {
			t.Fatalf("key %q is not fleet:{hash}:...", k)
		}
		if tag == "" {
			tag = k[i : j+1]
		} else if k[i:j+1] != tag {
			t.Fatalf("keys %v have different hash tags", keys)
		}
		ttl, err := rdb.PTTL(ctx, k).Result()
		if err != nil || ttl <= 0 || ttl > time.Minute {
			t.Fatalf("PTTL(%s) = %v, %v; want an expiry within a minute", k, ttl, err)
		}
	}
}

func TestLimiterOverRedis(t *testing.T) {
	srv := redistest.Start(t)
	rdb := newClient(t, srv)
	st := newStore(t, rdb)
	l1 := limiter.New(limiter.WithStore(st), limiter.WithLimits(limiter.Limits{Requests: 3}), limiter.WithWindow(time.Hour))
	l2 := limiter.New(limiter.WithStore(newStore(t, rdb)), limiter.WithLimits(limiter.Limits{Requests: 3}), limiter.WithWindow(time.Hour))
	defer l1.Close()
	defer l2.Close()
	ctx := context.Background()
	for i, l := range []*limiter.Limiter{l1, l2, l1} {
		r, err := l.Acquire(ctx, "k", limiter.Request{MaxOutputTokens: 1})
		if err != nil {
			t.Fatalf("acquire %d: %v", i, err)
		}
		r.Release()
	}
	// The fleet's three requests are spent: a fourth, on either limiter, would
	// wait far past a short deadline and is refused at once.
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := l2.Acquire(short, "k", limiter.Request{MaxOutputTokens: 1}); !errors.Is(err, limiter.ErrWouldExceedDeadline) {
		t.Fatalf("fourth acquire: %v, want ErrWouldExceedDeadline", err)
	}
}

func TestObserveTakesPendingOffRemaining(t *testing.T) {
	srv := redistest.Start(t)
	st := newStore(t, newClient(t, srv))
	p := policy(time.Hour, limiter.Limits{})
	o := limiter.Observation{limiter.Requests: {Limit: 50, Remaining: 7, HasRemaining: true}}
	if err := st.Observe(context.Background(), "k", o, limiter.Cost{2}, p, time.Now()); err != nil {
		t.Fatal(err)
	}
	s, _ := st.State(context.Background(), "k", p, time.Now())
	if lvl := s.Buckets[limiter.Requests].Level; lvl < 5 || lvl > 5.1 {
		t.Fatalf("level = %v, want 7 remaining - 2 pending = 5", lvl)
	}
}

// The limiter reads a key's state after every Observe; through
// ObserveState that is the observe script's own reply, not a second round
// trip.
func TestLimiterObserveIsOneRoundTrip(t *testing.T) {
	srv := redistest.Start(t)
	cs := &countingScripter{Scripter: newClient(t, srv)}
	l := limiter.New(limiter.WithStore(newStore(t, cs)))
	defer l.Close()
	ctx := context.Background()
	o := limiter.Observation{limiter.Requests: {Limit: 50, Remaining: 40, HasRemaining: true}}
	if err := l.Observe(ctx, "warm-up", o); err != nil { // loads the script
		t.Fatal(err)
	}
	cs.n.Store(0)
	if err := l.Observe(ctx, "k", o); err != nil {
		t.Fatal(err)
	}
	if n := cs.n.Load(); n != 1 {
		t.Fatalf("Observe cost %d round trips, want 1", n)
	}
	if st := l.StatsFor("k"); st.Limits[limiter.Requests] != 50 || st.Remaining[limiter.Requests] > 41 { // 40, plus a refill of moments
		t.Fatalf("stats after Observe: %+v", st)
	}
}
