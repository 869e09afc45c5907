package limiter

import (
	"context"
	"sync/atomic"
	"time"
)

// Reservation is an admitted request: its estimated cost is charged to its
// key's buckets and it holds one of the key's concurrency slots until it is
// ended by exactly one of Settle, Release, Cancel or Throttled.
type Reservation struct {
	// The fields are laid out to keep a Reservation in a 128-byte size
	// class: its allocation is the largest single cost of an acquire.
	l  *Limiter
	ks *keyState
	// slow holds what only some acquires need: the queue entry and wait
	// times of one that waited, the prompt prefixes of one that has them.
	// Most acquires never allocate it.
	slow *waited
	// cal is the model's token-estimate calibration when the input tokens
	// were estimated from bytes (nil when the caller gave them).
	cal   *calibration
	cost  Cost
	bytes int64
	// start and grantedAt are monotonic nanoseconds since epoch.
	start, grantedAt int64
	// uprev and unext link the key's unacked list (keyState.mu).
	uprev, unext *Reservation
	ended        atomic.Bool
	// charged says which buckets had a limit when the reservation was
	// granted; a bucket that was unlimited was never charged, and its
	// provider-reported level already counts the request.
	charged   [NumKinds]bool
	inUnacked bool
	rule      OutputRule // Request.Output
	// pending is set once an observation took the reservation's cost off
	// a level as not yet counted (pendingAfter): its buckets then hold
	// the estimate as if charged, and settle corrects it like a charge.
	pending bool
	// wantsSend is set at the grant, before Acquire returns (WantsSend).
	wantsSend bool
}

// waited is the part of a Reservation that only some acquires need.
type waited struct {
	w        waiter
	waits    [len(waitReasons)]time.Duration // by index in waitReasons
	prefixes []Prefix                        // Request.Prefixes, learned from at Settle
}

// waitState returns r's wait record, allocating it on first use.
func (r *Reservation) waitState() *waited {
	if r.slow == nil {
		r.slow = new(waited)
	}
	return r.slow
}

// Observe adopts the limits the provider reported in this request's
// response headers (see Limiter.Observe). Call it once the response's
// headers arrive, before the request ends.
func (r *Reservation) Observe(ctx context.Context, o Observation) error {
	r.ks.mu.Lock() // a reservation's key is never retired while it is in flight
	return r.l.observe(ctx, r.ks, r, &o)
}

// Spent is what a request really spent, as the provider reported it.
type Spent struct {
	// InputTokens are the input tokens the provider counts against its
	// input limit (for Anthropic: input_tokens + cache_creation_input_tokens;
	// cache reads do not count towards ITPM).
	InputTokens int64
	// OutputTokens are the generated tokens.
	OutputTokens int64
	// PromptTokens are all the input tokens the request body encoded,
	// cached or not; they calibrate the bytes-per-token estimate. 0 means
	// InputTokens.
	PromptTokens int64
	// CacheReadTokens and CacheWriteTokens are the prompt tokens the
	// provider read from its prompt cache and wrote to it (Anthropic's
	// cache_read_input_tokens and cache_creation_input_tokens). Their sum
	// is the size of the request's longest cached prefix, which the
	// limiter learns for Request.Prefixes.
	CacheReadTokens, CacheWriteTokens int64
}

// Cost returns what was reserved: one request, the estimated input tokens,
// the estimated output tokens (see OutputRule), and their sum as tokens.
func (r *Reservation) Cost() Cost { return r.cost }

// Waited returns how long Acquire waited in total and the reason it waited
// longest for; ReasonNone when it did not wait.
func (r *Reservation) Waited() (time.Duration, Reason) {
	var total, most time.Duration
	reason := ReasonNone
	if r.slow == nil {
		return 0, reason
	}
	for i, d := range r.slow.waits {
		total += d
		if d > most {
			most, reason = d, waitReasons[i]
		}
	}
	return total, reason
}

func (r *Reservation) addWait(reason Reason, d time.Duration) {
	for i, x := range waitReasons {
		if x == reason {
			r.waitState().waits[i] += d
			return
		}
	}
}

// Settle corrects the reservation to what the request really spent —
// refunding an overestimate, charging an underestimate, into debt if need
// be, as the provider does — releases its slot, and learns from the usage:
// the model's input estimate, the key's output estimate and which of the
// request's prompt prefixes the provider now holds cached.
func (r *Reservation) Settle(u Spent) error {
	if !r.ended.CompareAndSwap(false, true) {
		return nil
	}
	pending := r.learn(u)
	if p := max(u.PromptTokens, u.InputTokens); r.cal != nil && p > 0 && r.bytes > 0 {
		r.cal.add(r.bytes, p)
	}
	c := r.cost
	delta := Cost{0, u.InputTokens - c[InputTokens], u.OutputTokens - c[OutputTokens],
		u.InputTokens + u.OutputTokens - c[Tokens]}
	// A bucket learned while this request was in flight never charged it,
	// but its level came from the provider, who had counted the real
	// input. Under OutputAtMaxTokens it had counted max_tokens as output:
	// correct it to the real count. Under OutputAsGenerated it counted the
	// output only as far as it was generated when the headers left (all of
	// it for a whole response, none for a stream): charge it all, erring
	// on the side that cannot cause a 429.
	outDelta := u.OutputTokens - c[OutputTokens]
	if r.rule == OutputAsGenerated {
		outDelta = u.OutputTokens
	}
	for _, k := range []Kind{InputTokens, OutputTokens, Tokens} {
		if !r.charged[k] && !pending {
			delta[k] = 0
			if k != InputTokens {
				delta[k] = outDelta
			}
		}
	}
	err := r.store(delta)
	r.release(true, false)
	return err
}

// learn records what u says about the key's outputs and cached prefixes,
// and returns r.pending, which ks.mu guards.
func (r *Reservation) learn(u Spent) bool {
	ks := r.ks
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.out.add(u.OutputTokens)
	if r.slow != nil && len(r.slow.prefixes) > 0 {
		r.l.learnPrefixes(ks, r.slow.prefixes, u.CacheReadTokens+u.CacheWriteTokens, r.start)
	}
	return r.pending
}

// Release releases the slot and keeps the estimate as the charge, for a
// request that succeeded without reporting its usage.
func (r *Reservation) Release() {
	if r.ended.CompareAndSwap(false, true) {
		r.release(true, false)
	}
}

// Cancel gives the whole reservation back and releases the slot: for a
// request that failed or was never sent.
func (r *Reservation) Cancel() error {
	if !r.ended.CompareAndSwap(false, true) {
		return nil
	}
	err := r.refund()
	r.release(false, false)
	return err
}

// Throttled is Cancel for a request the provider rejected for load (429 or
// 529): it also shrinks the key's adaptive concurrency cap (WithAIMD).
func (r *Reservation) Throttled() error {
	if !r.ended.CompareAndSwap(false, true) {
		return nil
	}
	err := r.refund()
	r.release(false, true)
	return err
}

func (r *Reservation) refund() error {
	r.ks.mu.Lock()
	pending := r.pending
	r.ks.mu.Unlock()
	var neg Cost
	addCost(&neg, &r.cost, -1)
	for k := range neg {
		if !r.charged[k] && !pending {
			neg[k] = 0
		}
	}
	return r.store(neg)
}

// store applies delta to the key's buckets.
func (r *Reservation) store(delta Cost) error {
	if delta == (Cost{}) {
		return nil
	}
	now, _ := clock()
	if err := r.l.store.Adjust(context.Background(), r.ks.key, delta, &r.l.pol, now); err != nil {
		return storeErr(err)
	}
	return nil
}

// release frees the slot; ok marks a response seen, throttled feeds AIMD.
func (r *Reservation) release(ok, throttled bool) {
	ks, a := r.ks, r.l.aimd
	var hold float64
	if r.l.conc > 0 || a != nil { // only a concurrency cap needs hold times
		_, t := clock()
		hold = float64(t - r.start)
	}
	ks.mu.Lock()
	ks.removeUnacked(r)
	ks.untrack(r)
	atCap := ks.climit > 0 && float64(ks.inflight) >= float64(int(ks.climit))
	ks.inflight--
	if ok {
		ks.seen = true
	}
	switch {
	case hold == 0:
	case ks.holdNs == 0:
		ks.holdNs = hold
	default:
		ks.holdNs += (hold - ks.holdNs) / 8
	}
	waiter := ks.head
	if a != nil {
		switch {
		case throttled:
			ks.climit = max(float64(a.Min), ks.climit*a.Backoff)
		case ok && atCap:
			ks.climit = min(float64(a.Max), ks.climit+1)
		}
	}
	ks.mu.Unlock()
	if waiter {
		ks.wake()
	}
}
