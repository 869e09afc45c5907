package limiter

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Limiter admits requests under per-key limits. See the package comment for
// the model. A Limiter is safe for concurrent use; share one across every
// client that spends the same quota.
type Limiter struct {
	store         Store
	pol           Policy
	conc          int
	aimd          *AIMD
	maxQueue      int
	firstWave     int
	utilThreshold float64
	utilHook      func(string, Kind, float64)
	bpt           float64
	defOut        int64

	keys      sync.Map     // string → *keyState
	models    sync.Map     // model → *calibration
	lastSweep atomic.Int64 // monotonic ns of the last sweep (prune.go)
	retired   atomic.Int64 // keys the sweeps retired

	done      chan struct{}
	closeOnce sync.Once
}

// Request describes what an acquire will spend.
type Request struct {
	// Model names the model, for calibrating the token estimate.
	Model string
	// InputTokens is the input size when the caller knows it; otherwise
	// it is estimated from InputBytes.
	InputTokens int64
	// InputBytes is the request body's size.
	InputBytes int64
	// MaxOutputTokens is the request's max_tokens (0: not set). What is
	// reserved for the output depends on Output.
	MaxOutputTokens int64
	// Output is how the provider counts output tokens. The zero value is
	// Anthropic's rule, OutputAsGenerated.
	Output OutputRule
	// Prefixes are the request's cacheable prompt prefixes, shortest
	// first. The input reserved is the estimate for the whole body less
	// the tokens of the longest prefix the key's responses reported
	// cached and whose TTL has not run out; Settle learns them from the
	// usage. Nil for a provider or model whose input limit counts cache
	// reads.
	Prefixes []Prefix
	// Priority orders the key's queue.
	Priority Priority
	// ReportsSend says the caller will call Reservation.Sent when the
	// request has been written in full, if Reservation.WantsSend asks for
	// it. The zero value: it will not, and the limiter corrects for the
	// request's transit when its response is observed.
	ReportsSend bool
}

// New returns a Limiter with an in-memory store, a one-minute window, no
// explicit limits (they are learned, see Observe), no concurrency cap and an
// unbounded queue.
func New(opts ...Option) *Limiter {
	l := &Limiter{
		pol:           Policy{Window: time.Minute},
		firstWave:     2,
		utilThreshold: 0.8,
		bpt:           4,
		defOut:        1024,
		done:          make(chan struct{}),
	}
	for _, o := range opts {
		if o != nil {
			o(l)
		}
	}
	if l.store == nil {
		l.store = NewMemoryStore()
	}
	if l.pol.Window <= 0 {
		l.pol.Window = time.Minute
	}
	_, mono := clock()
	l.lastSweep.Store(mono) // the first sweep is a window from now
	if l.bpt <= 0 {
		l.bpt = 4
	}
	if l.defOut <= 0 {
		l.defOut = 1024
	}
	if l.aimd != nil {
		a := l.aimd
		a.Min = max(a.Min, 1)
		if a.Max <= 0 {
			a.Max = 256
			if l.conc > 0 {
				a.Max = l.conc
			}
		}
		if a.Initial <= 0 {
			a.Initial = min(8, a.Max)
		}
		if a.Backoff <= 0 || a.Backoff >= 1 {
			a.Backoff = 0.9
		}
	}
	return l
}

// keyState is what the limiter keeps locally per key. mu guards every field
// but key, kick and cal. It is held across the key's Store.Reserve and
// Store.Observe calls: an observation's pending count (pendingAfter) then
// includes every reservation the store has charged, and an uncontended
// acquire is one critical section, so that acquires arriving meanwhile do
// not queue. A shared store's round trip therefore delays the key's other
// operations in this process; stores bound their operations' duration.
type keyState struct {
	key  string
	kick chan struct{} // wakes the head: capacity, limits or cool-down changed
	// cal caches the calibration of the model this key last estimated, so
	// that an acquire does not look the model up.
	cal atomic.Pointer[modelCal]

	mu           sync.Mutex
	dead         bool        // retired by a sweep: look the key up again
	lastUsed     int64       // monotonic ns of the last acquire, observe or cool-down
	idleSweeps   int         // consecutive sweeps that found the key idle
	head         bool        // some acquire is at the head of the queue
	q            [2]waitList // queued acquires, by priority
	queued       int
	qcost        Cost // sum of queued acquires' costs
	inflight     int
	climit       float64 // concurrency cap, 0 = none
	seen         bool    // a response has come back for this key
	blockReason  Reason  // what the head waits for
	lastBlock    Reason  // what the head last waited for: why the queue behind it waited
	blockedUntil time.Time
	last         State // the store's state at lastAt
	lastAt       time.Time
	holdNs       float64 // moving average of how long a slot is held
	// unacked lists granted reservations whose response has not been
	// observed yet, in grant order (see pendingAfter).
	unacked struct{ head, tail *Reservation }
	// nearFull is, per bucket kind, the unobserved grant likeliest to
	// find the provider's bucket full (transit.go).
	nearFull [NumKinds]nearFull
	above    [NumKinds]bool
	// out are the key's recent output counts (OutputAsGenerated).
	out outputStats
	// prefixes are the prompt prefixes the provider reported cached,
	// by Prefix.Hash; nil until the key sends one.
	prefixes map[uint64]prefixEntry
}

func (l *Limiter) state(key string) *keyState {
	if v, ok := l.keys.Load(key); ok {
		return v.(*keyState)
	}
	ks := &keyState{key: key, kick: make(chan struct{}, 1)}
	switch {
	case l.aimd != nil:
		ks.climit = float64(l.aimd.Initial)
	case l.conc > 0:
		ks.climit = float64(l.conc)
	}
	v, _ := l.keys.LoadOrStore(key, ks)
	return v.(*keyState)
}

// lockState returns key's state with its mu held and marks it used, never
// a state a sweep has retired (prune.go).
func (l *Limiter) lockState(key string, mono int64) *keyState {
	for {
		ks := l.state(key)
		ks.mu.Lock()
		if !ks.dead {
			ks.lastUsed = mono
			return ks
		}
		ks.mu.Unlock()
	}
}

func (ks *keyState) wake() {
	select {
	case ks.kick <- struct{}{}:
	default:
	}
}

// Acquire waits until a request of req's size may be sent under key's limits
// and returns its reservation, which the caller must end with exactly one of
// Settle, Release, Cancel or Throttled (later calls are no-ops).
//
// Acquires of one key are served in FIFO order, Interactive before Batch.
// Acquire returns at once with
//   - a *CapacityError (ErrExceedsCapacity) when the provider documents that
//     it refuses req outright: under OutputAtMaxTokens, max_tokens larger
//     than the tokens limit,
//   - ErrQueueFull when the key's queue is full,
//   - a *WaitError (ErrWouldExceedDeadline, context.DeadlineExceeded) when
//     a wait the limiter is sure of — a cool-down the provider named, the
//     requests limit — would outlast ctx's deadline,
//   - ErrClosed after Close.
//
// Otherwise it waits, and returns ctx.Err() if ctx ends first; a waiter that
// gives up leaves nothing behind. Token counts are estimates, so they never
// make Acquire refuse: a request larger than a bucket is admitted once the
// bucket is full, and one whose token wait would outlast its deadline is
// admitted at once, taking the buckets into debt. The provider judges it;
// if it answers 429, that is the evidence, and its headers correct the
// limiter.
func (l *Limiter) Acquire(ctx context.Context, key string, req Request) (*Reservation, error) {
	select {
	case <-l.done:
		return nil, ErrClosed
	default:
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now, mono := clock()
	l.maybeSweep(now, mono)
	ks := l.lockState(key, mono)
	r := &Reservation{l: l, ks: ks, bytes: req.InputBytes, start: mono, rule: req.Output}
	r.cost, r.cal = l.cost(ks, req, mono)
	if len(req.Prefixes) > 0 {
		r.waitState().prefixes = req.Prefixes
	}
	if req.Output == OutputAtMaxTokens {
		lim := ks.last.Buckets[Tokens].Limit
		if lim <= 0 { // not reserved yet: the cap alone
			lim = l.pol.Caps[Tokens]
		}
		if lim > 0 && req.MaxOutputTokens > lim {
			ks.mu.Unlock()
			return nil, &CapacityError{Kind: Tokens, Need: req.MaxOutputTokens, Limit: lim}
		}
	}
	if req.Priority > Batch {
		req.Priority = Batch
	}
	if err := l.enter(ctx, ks, r, req.Priority); err != nil {
		return nil, err
	}
	head, err := l.lead(ctx, ks, r, &req, now)
	if head {
		ks.handoff()
	}
	var st State
	hook := err == nil && l.utilHook != nil
	if hook {
		st = ks.last
	}
	ks.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if hook {
		l.checkUtil(ks, &st)
	}
	return r, nil
}

// enter makes r the head of ks's queue, waiting behind earlier acquires.
// It is called with ks.mu held and returns with it held when r is the
// head, and without it on error.
func (l *Limiter) enter(ctx context.Context, ks *keyState, r *Reservation, p Priority) error {
	if !ks.head && ks.queued == 0 {
		ks.head = true
		return nil
	}
	if l.maxQueue > 0 && ks.waiting() >= l.maxQueue {
		ks.mu.Unlock()
		return ErrQueueFull
	}
	now := time.Now()
	if dl, ok := ctx.Deadline(); ok {
		if w, reason := l.estimate(ks, r.cost, now, true); now.Add(w).After(dl) {
			ks.mu.Unlock()
			return &WaitError{Reason: reason, Wait: w, Left: dl.Sub(now)}
		}
	}
	l.queue(ks, r, p, false)
	if p == Interactive && ks.head {
		ks.wake() // a batch head yields to it
	}
	ks.mu.Unlock()
	if err := l.park(ctx, ks, r, now); err != nil {
		return err
	}
	ks.mu.Lock()
	return nil
}

// queue puts r's waiter in ks's queue (at the front of its priority when
// front). ks.mu must be held.
func (l *Limiter) queue(ks *keyState, r *Reservation, p Priority, front bool) {
	w := &r.waitState().w
	w.ready, w.prio, w.cost, w.state = make(chan struct{}), p, r.cost, waitQueued
	if front {
		ks.q[p].pushFront(w)
	} else {
		ks.q[p].push(w)
	}
	ks.queued++
	addCost(&ks.qcost, &w.cost, 1)
}

// park waits until r's queued waiter becomes the head. On error r is not
// the head: a promotion that raced with giving up has been passed on.
func (l *Limiter) park(ctx context.Context, ks *keyState, r *Reservation, since time.Time) error {
	w := &r.slow.w
	var err error
	select {
	case <-w.ready:
		r.addWait(w.reason, time.Since(since))
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-l.done:
		err = ErrClosed
	}
	ks.mu.Lock()
	if w.state == waitPromoted { // promoted as we gave up: pass the head on
		ks.handoff()
	} else {
		ks.q[w.prio].remove(w)
		ks.dequeued(w)
	}
	ks.mu.Unlock()
	return err
}

func (ks *keyState) waiting() int {
	if ks.head && ks.blockReason != ReasonNone {
		return ks.queued + 1
	}
	return ks.queued
}

func (ks *keyState) dequeued(w *waiter) {
	w.state = waitGone
	ks.queued--
	addCost(&ks.qcost, &w.cost, -1)
}

// handoff passes the head to the next waiter. ks.mu must be held.
func (ks *keyState) handoff() {
	ks.head = false
	if ks.queued == 0 {
		return
	}
	w := ks.q[Interactive].pop()
	if w == nil {
		w = ks.q[Batch].pop()
	}
	if w == nil {
		return
	}
	ks.dequeued(w)
	w.state, w.reason = waitPromoted, ks.blockReason
	if w.reason == ReasonNone {
		// The head was just granted: this waiter queued behind heads that
		// waited for lastBlock.
		w.reason = ks.lastBlock
	}
	if w.reason == ReasonNone {
		w.reason = ReasonConcurrency
	}
	ks.head = true
	close(w.ready)
}

// lead runs at the head of the queue until r's cost is reserved and a slot
// taken, or it fails. It is called with ks.mu held and returns with it
// held, saying whether r is still the head (it is not after it yielded to
// an interactive waiter and gave up while queued again).
func (l *Limiter) lead(ctx context.Context, ks *keyState, r *Reservation, req *Request, now time.Time) (head bool, err error) {
	p := req.Priority
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	force := false                                                         // admit past the token buckets (see below)
	for first := r.slow == nil || r.slow.w.ready == nil; ; first = false { // a queued acquire reads the clock anew
		if !first {
			var mono int64
			now, mono = clock()
			// What the key learned while r waited (a prefix now cached,
			// the output its answers generate) changes what r will cost.
			r.cost, r.cal = l.cost(ks, *req, mono)
		}
		if p == Batch && ks.q[Interactive].head != nil {
			// Yield the head to an interactive waiter; wait first in line
			// among the batch waiters.
			l.queue(ks, r, Batch, true)
			ks.handoff()
			ks.mu.Unlock()
			err := l.park(ctx, ks, r, now)
			ks.mu.Lock()
			if err != nil {
				return false, err
			}
			continue
		}
		reason := l.localBlock(ks)
		ks.blockReason = reason
		if reason != ReasonNone {
			ks.lastBlock = reason
		}
		var until time.Time
		if reason == ReasonNone {
			ok, why, retry, err := l.reserve(ctx, ks, r, now, force, req.ReportsSend)
			if err != nil {
				return true, err
			}
			if ok {
				return true, nil
			}
			reason, until = why, retry
		}
		if dl, ok := ctx.Deadline(); ok && until.After(dl) {
			if reason.tokens() && !force {
				// A token wait is an estimate's: send now, into debt, and
				// let the provider judge, rather than fail a call it may
				// serve. The requests limit and any cool-down still hold.
				force = true
				continue
			}
			return true, &WaitError{Reason: reason, Wait: until.Sub(now), Left: dl.Sub(now)}
		}
		ks.mu.Unlock()
		if err := l.sleep(ctx, ks, until, &timer); err != nil {
			ks.mu.Lock()
			return true, err
		}
		r.addWait(reason, time.Since(now))
		ks.mu.Lock()
	}
}

// reserve asks the store to charge r's cost to ks's buckets and records
// its decision: on success r takes a slot; otherwise it returns why and
// until when the head must wait. It is called with ks.mu held and returns
// with it held.
//
// With force, only the request is reserved and the tokens are then charged
// without waiting (Adjust), into debt if need be.
func (l *Limiter) reserve(ctx context.Context, ks *keyState, r *Reservation, now time.Time, force, reports bool) (ok bool, reason Reason, until time.Time, err error) {
	c := r.cost
	if force {
		c = Cost{Requests: c[Requests]}
	}
	held := l.holdRefill(ctx, ks, now, int64(now.Sub(epoch)))
	d, err := l.store.Reserve(ctx, ks.key, c, &l.pol, now)
	if err == nil && d.OK && force {
		err = l.store.Adjust(ctx, ks.key, Cost{0, r.cost[InputTokens], r.cost[OutputTokens], r.cost[Tokens]}, &l.pol, now)
	}
	if err != nil {
		return false, ReasonNone, time.Time{}, storeErr(err)
	}
	ks.last, ks.lastAt = d.State, now
	if !d.OK {
		retry := d.RetryAt
		for k := range held {
			// The level does not refill while the refill is held back:
			// wait for the send (Sent wakes the head) or the hold's end.
			if d.Reason == ReasonFor(Kind(k)) && held[k].After(retry) {
				retry = held[k]
			}
		}
		ks.blockReason, ks.blockedUntil, ks.lastBlock = d.Reason, retry, d.Reason
		return false, d.Reason, retry, nil
	}
	ks.inflight++
	for k := range ks.last.Buckets {
		r.charged[k] = ks.last.Buckets[k].Limit > 0
	}
	ks.trackRoom(r, c, reports)
	r.grantedAt = int64(now.Sub(epoch))
	ks.pushUnacked(r)
	ks.blockReason, ks.blockedUntil = ReasonNone, time.Time{}
	return true, ReasonNone, time.Time{}, nil
}

// localBlock says whether the head must wait for a slot. ks.mu must be held.
func (l *Limiter) localBlock(ks *keyState) Reason {
	if ks.climit > 0 && float64(ks.inflight) >= max(1, float64(int(ks.climit))) {
		return ReasonConcurrency
	}
	if l.firstWave > 0 && !ks.seen && !ks.last.Learned && l.pol.Caps == [NumKinds]int64{} && ks.inflight >= l.firstWave {
		return ReasonConcurrency
	}
	return ReasonNone
}

// sleep waits for until (if set), a kick, ctx or Close.
func (l *Limiter) sleep(ctx context.Context, ks *keyState, until time.Time, timer **time.Timer) error {
	var tc <-chan time.Time
	if !until.IsZero() {
		d := time.Until(until)
		if d <= 0 {
			return nil
		}
		if *timer == nil {
			*timer = time.NewTimer(d)
		} else {
			(*timer).Reset(d)
		}
		tc = (*timer).C
	}
	select {
	case <-tc:
	case <-ks.kick:
	case <-ctx.Done():
		return ctx.Err()
	case <-l.done:
		return ErrClosed
	}
	return nil
}

// estimate returns a lower bound of how long an acquire of cost queued now
// would wait, and why. With certain, only what the limiter knows for sure
// counts: cool-downs, the requests limit and the concurrency cap, not token
// estimates. ks.mu must be held.
func (l *Limiter) estimate(ks *keyState, cost Cost, now time.Time, certain bool) (time.Duration, Reason) {
	var w time.Duration
	reason := ks.blockReason
	if d := ks.blockedUntil.Sub(now); d > 0 && (!certain || !reason.tokens()) {
		w = d
	}
	if d := ks.last.CooldownUntil.Sub(now); d > w {
		w, reason = d, ReasonCooldown
	}
	win := float64(l.pol.Window)
	el := float64(now.Sub(ks.lastAt))
	for k, b := range ks.last.Buckets {
		if b.Limit <= 0 || (certain && Kind(k) != Requests) {
			continue
		}
		lim := float64(b.Limit)
		lvl := min(b.Level+lim*el/win, lim)
		if need := float64(ks.qcost[k]+cost[k]) - lvl; need > 0 {
			if d := time.Duration(need / lim * win); d > w {
				w, reason = d, ReasonFor(Kind(k))
			}
		}
	}
	if ks.climit > 0 && ks.holdNs > 0 {
		if d := time.Duration(float64(ks.queued) / ks.climit * ks.holdNs); d > w {
			w, reason = d, ReasonConcurrency
		}
	}
	if reason == ReasonNone {
		reason = ReasonConcurrency
	}
	return w, reason
}

// Observe adopts the limits a provider reported for key in a response's
// rate-limit headers (see Store for how). Call it for every response, even
// one without such headers: the first response of a key ends its first wave.
//
// Prefer Reservation.Observe for a response to a reserved request: it knows
// which reservations the provider cannot have counted yet. Observe assumes
// it has counted none of those in flight.
func (l *Limiter) Observe(ctx context.Context, key string, o Observation) error {
	_, mono := clock()
	return l.observe(ctx, l.lockState(key, mono), nil, &o)
}

// observe hands o to the store, less what the provider cannot have
// counted yet, and adopts the state that results. It is called with ks.mu
// held, and releases it.
func (l *Limiter) observe(ctx context.Context, ks *keyState, r *Reservation, o *Observation) error {
	now, mono := clock()
	pending, unseen := l.pending(ks, r, o, now, mono)
	hook := false
	var st State
	// Before the reading, so that the state it returns has it.
	err := l.takeRefill(ctx, ks, unseen, now)
	if !o.Empty() && err == nil {
		if st, err = l.observeStore(ctx, ks.key, o, pending, now); err == nil {
			ks.last, ks.lastAt = st, now
			hook = l.utilHook != nil
		}
	}
	// Only now may the first wave end: the learned limits are in place.
	ks.seen = true
	ks.mu.Unlock()
	ks.wake()
	if hook {
		l.checkUtil(ks, &st)
	}
	return err
}

// pending acknowledges r and returns what the provider cannot have
// counted when it answered r (pendingAfter), and drops from o the readings
// the key's level already agrees with. unseen is the refill the key's
// level has that the provider's cannot have had (refillNotSeen), to be
// taken off where no reading corrects the level anyway. now and mono are
// the observation's time (clock). ks.mu must be held.
func (l *Limiter) pending(ks *keyState, r *Reservation, o *Observation, now time.Time, mono int64) (pending, unseen Cost) {
	after, reorder, reorderAfter := ks.pendingAfter(r)
	win := float64(l.pol.Window)
	var el, since float64
	if !ks.lastAt.IsZero() {
		el = float64(now.Sub(ks.lastAt)) / win
	}
	if r != nil {
		since = float64(mono-r.grantedAt) / win
		unseen = l.refillNotSeen(ks, r, mono, &after)
	}
	for k := range o {
		rd := &o[k]
		if !rd.HasRemaining {
			continue
		}
		// A remaining rounded to the nearest Rounding may be up to half
		// of it higher: a level of the limiter's own that high is
		// consistent with the reading. A level above that is corrected
		// to the reading as sent, not to its upper bound.
		var slack int64
		if rd.Rounding > 0 && rd.Remaining%rd.Rounding == 0 {
			slack = rd.Rounding / 2
		}
		// The limiter's own level, if nobody else spends the quota, lies
		// between Remaining less what the provider cannot have counted
		// (after) and that less what it may not have counted yet
		// (reorder: granted just before r, arrived after it). For the
		// requests bucket, whose counts are exact, the band reaches up
		// by what was granted just after r (reorderAfter): requests
		// granted together reach the provider in any order, so some may
		// have been counted before r. A level within the band is
		// consistent with the reading: keep it. Lowering it on every
		// response would hold back up to the reorder's worth of requests
		// for nothing. Only a level above the band — someone else spent
		// the quota, or a token estimate was low — is lowered (by the
		// store). Token buckets do not widen the band upwards: their
		// costs are estimates, and the reading is what corrects them.
		b := ks.last.Buckets[k]
		if b.Limit == 0 {
			// The first reading of a bucket sets its level. A rounded
			// one may stand for up to half a Rounding less: take that,
			// or the limiter starts above the provider and stays there
			// (later readings only correct a level above their band).
			rd.Remaining = max(rd.Remaining-slack, 0)
			continue
		}
		lim := float64(b.Limit)
		lvl := min(b.Level+lim*el, lim) - float64(unseen[k])
		upper := rd.Remaining + slack - after[k]
		if Kind(k) == Requests {
			upper += reorderAfter[k]
		}
		// The reading is of an earlier moment than lvl, and coarser: the
		// provider read its bucket when r reached it, no earlier than r
		// was granted, and has refilled since as lvl has; and it reports
		// a whole number, up to one below its continuous level. Compared
		// without those, an exact level a fraction above the reading
		// would count as news and be lowered by the whole reorder.
		if lvl <= float64(upper)+1+lim*since {
			rd.HasRemaining = false
		} else {
			unseen[k] = 0 // the reading, lower still, replaces the level
		}
	}
	addCost(&after, &reorder, 1)
	return after, unseen
}

// observeStore hands o to the store and returns the key's state after it.
func (l *Limiter) observeStore(ctx context.Context, key string, o *Observation, pending Cost, now time.Time) (State, error) {
	if so, ok := l.store.(StateObserver); ok {
		st, err := so.ObserveState(ctx, key, *o, pending, &l.pol, now)
		if err != nil {
			return State{}, storeErr(err)
		}
		return st, nil
	}
	if err := l.store.Observe(ctx, key, *o, pending, &l.pol, now); err != nil {
		return State{}, storeErr(err)
	}
	st, err := l.store.State(ctx, key, &l.pol, now)
	if err != nil {
		return State{}, storeErr(err)
	}
	return st, nil
}

// Cooldown makes acquires for key wait until until: the transport layer sets
// it from a 429 or 529 that carries a server delay, so that no other request
// of the key reaches the provider before the moment it named.
func (l *Limiter) Cooldown(ctx context.Context, key string, until time.Time) error {
	_, mono := clock()
	ks := l.lockState(key, mono)
	ks.mu.Unlock()
	defer ks.wake()
	if err := l.store.Cooldown(ctx, key, until); err != nil {
		return storeErr(err)
	}
	ks.mu.Lock()
	if until.After(ks.last.CooldownUntil) {
		ks.last.CooldownUntil = until
	}
	ks.mu.Unlock()
	return nil
}

// Close releases every waiter with ErrClosed and makes later acquires fail
// with it. Reservations already granted may still be settled.
func (l *Limiter) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return nil
}

func (l *Limiter) checkUtil(ks *keyState, st *State) {
	if l.utilHook == nil {
		return
	}
	var fire [NumKinds]float64
	ks.mu.Lock()
	for k, b := range st.Buckets {
		u := b.Utilization()
		switch {
		case u >= l.utilThreshold && !ks.above[k]:
			ks.above[k], fire[k] = true, u
		case u < l.utilThreshold:
			ks.above[k] = false
		}
	}
	ks.mu.Unlock()
	for k, u := range fire {
		if u > 0 {
			l.utilHook(ks.key, Kind(k), u)
		}
	}
}

func storeErr(err error) error {
	if _, ok := err.(*CapacityError); ok {
		return err
	}
	return fmt.Errorf("limiter: store: %w", err)
}

// reorderWindow bounds how much earlier than an observed request another one
// may have been granted and still reach the provider after it (goroutines
// waiting to run between grant and send, connection set-up). Counting
// those as pending lowers the level by a constant, not the rate. The value
// is an assumption about the machine, not the model: the in-process tests,
// in virtual time, pass with any value; transport's TestLimitGoodput, real
// requests on loopback, is what chose it (on 2 loaded cores).
const reorderWindow = 200 * time.Millisecond

func (ks *keyState) pushUnacked(r *Reservation) {
	r.uprev, r.unext, r.inUnacked = ks.unacked.tail, nil, true
	if ks.unacked.tail != nil {
		ks.unacked.tail.unext = r
	} else {
		ks.unacked.head = r
	}
	ks.unacked.tail = r
}

func (ks *keyState) removeUnacked(r *Reservation) {
	if !r.inUnacked {
		return
	}
	if r.uprev != nil {
		r.uprev.unext = r.unext
	} else {
		ks.unacked.head = r.unext
	}
	if r.unext != nil {
		r.unext.uprev = r.uprev
	} else {
		ks.unacked.tail = r.uprev
	}
	r.uprev, r.unext, r.inUnacked = nil, nil, false
}

// pendingAfter sums the cost of the unacknowledged reservations
// granted after r (all of them when r is nil) and acknowledges r: the
// provider's remaining in r's response counted r and, most likely, the
// requests sent before it, but not those sent after. reorder sums those
// granted within reorderWindow before r, which may have reached the
// provider after it; reorderAfter those granted within reorderWindow after
// r, which may have reached it first. ks.mu must be held.
func (ks *keyState) pendingAfter(r *Reservation) (sum, reorder, reorderAfter Cost) {
	from := ks.unacked.head
	if r != nil {
		if !r.inUnacked {
			return sum, reorder, reorderAfter
		}
		from = r.unext
		// Requests granted just before r may still have reached the
		// provider after it: goroutines are rescheduled between reserve
		// and send. Count those granted within reorderWindow too.
		for x := r.uprev; x != nil && time.Duration(r.grantedAt-x.grantedAt) < reorderWindow; x = x.uprev {
			addCost(&reorder, &x.cost, 1)
			x.pending = true
		}
		ks.removeUnacked(r)
	}
	// Count every reservation, charged or not: one granted while its bucket
	// was unknown is still a request the provider will count.
	for x := from; x != nil; x = x.unext {
		addCost(&sum, &x.cost, 1)
		x.pending = true
		if r != nil && time.Duration(x.grantedAt-r.grantedAt) < reorderWindow {
			addCost(&reorderAfter, &x.cost, 1)
		}
	}
	return sum, reorder, reorderAfter
}

func addCost(dst, c *Cost, sign int64) {
	for i := range dst {
		dst[i] += sign * c[i]
	}
}
