package limiter

import (
	"context"
	"math"
	"time"
)

// Requests in transit. The provider counts a request when it arrives, the
// limiter when it grants it. That makes no difference to the levels except
// at a bucket's limit, where refill is lost: a provider's bucket that is
// full refills nothing until a request of the burst reaches it, while the
// limiter's refills from the grant. Left in place, the difference sends a
// request the moment the limiter's level reaches its cost while the
// provider's is still short of it. Per bucket kind, the key tracks the
// unobserved grant likeliest to have found the provider's bucket full
// (trackRoom), and takes the refill of its transit back when its response
// comes (refillNotSeen).
//
// Taking it back then is too late for a request granted meanwhile on that
// refill: two 20 000-token prompt-cache writes granted 40 ms apart into a
// 40 000-token bucket (the limiter's level had refilled the 186 tokens the
// pair lacked) reached the provider in the same instant, the first one's
// 80 kB body having taken half a second to arrive on a loaded machine, and
// the second met a 429. So a caller that can tell when a request has been
// written in full (Request.ReportsSend, WantsSend, Sent; the transport
// does, with httptrace) has
// that refill held back as it accrues, until the provider will have
// counted the request: its response, or reorderWindow after the send,
// whichever comes first (holdRefill). A caller that cannot tell keeps the
// correction at the response alone: holding the refill until then would
// hold it for a whole generation, longer than the provider's bucket stays
// full, and slow the workload down.

// nearFull is one bucket kind's tracked grant (keyState.nearFull).
type nearFull struct {
	r       *Reservation
	room    float64 // below the bucket's limit before r's charge
	watched bool    // r's send is asked for (WantsSend)
	sent    int64   // monotonic ns of Sent; 0 before
	taken   int64   // refill held back so far (holdRefill)
}

// trackRoom makes r the key's tracked grant of each kind whose cost exceeds
// the room it left below the limit by more than the tracked one's: the
// likelier of two to find the provider's bucket full, as a large body takes
// the longest to arrive; of equal costs, the one that left less room. c is
// what r was charged; ks.last must hold the state the grant left. When the
// caller reports sends (reports), a tracked grant is watched — its send
// asked for (WantsSend) — where its transit's refill can matter: it found
// the bucket within its cost of full and left less than its cost in it, so
// another request like it waits for refill. A key far below its limits
// (every grant from a full bucket) is asked for no sends. ks.mu must be
// held.
func (ks *keyState) trackRoom(r *Reservation, c Cost, reports bool) {
	for k, b := range ks.last.Buckets {
		if b.Limit <= 0 || c[k] <= 0 {
			continue
		}
		room := max(float64(b.Limit)-b.Level-float64(c[k]), 0) // before the charge
		nf := &ks.nearFull[k]
		if nf.r == nil || room-float64(c[k]) < nf.room-float64(nf.r.cost[k]) {
			watched := reports && room < float64(c[k]) && b.Level < float64(c[k])
			*nf = nearFull{r: r, room: room, watched: watched}
			r.wantsSend = r.wantsSend || watched
		}
	}
}

// untrack stops tracking r, which ended unobserved (Settle without a
// response's headers, Cancel, Throttled): nothing is learned from it. The
// refill held back for a request never sent needs no giving back: its
// refund fills the level to where the provider's full bucket is. ks.mu must
// be held.
func (ks *keyState) untrack(r *Reservation) {
	for k := range ks.nearFull {
		if ks.nearFull[k].r == r {
			ks.nearFull[k] = nearFull{}
		}
	}
}

// roundUpAtMost bounds what refillNotSeen's rounding up may cost: the
// whole-second Retry-After of the 429 it guards against.
const roundUpAtMost = time.Second

// refillNotSeen returns, for each kind whose tracked grant r is, the refill
// the key's level may have taken since r was granted that the provider's
// cannot have had, less what holdRefill held back already, and stops
// tracking r. The provider's level is at least the limiter's, so where the
// limiter left less room below the limit than the refill of r's transit,
// the provider's bucket may have been full and refilled nothing until r
// (or a request granted after it) reached it. A reading cannot show a
// difference below one request. The transit ends by mono, when the answer
// is in, or, when the send was reported (Sent), within reorderWindow of it:
// the answer may come a whole generation later. The refill is bounded by
// r's cost and what was granted after it, beyond which the limiter's bucket
// would have been full itself. Buckets hold whole units, so the amount is
// rounded: up, unless the unit's share rounded up would take longer to
// refill than roundUpAtMost. Left below, the difference may cost a 429,
// whose Retry-After is at least a second; taken above, it costs its own
// refill time — a whole minute for a thousandth of a request in a bucket of
// one a minute. ks.mu must be held.
func (l *Limiter) refillNotSeen(ks *keyState, r *Reservation, mono int64, after *Cost) Cost {
	var unseen Cost
	for k, b := range ks.last.Buckets {
		nf := &ks.nearFull[k]
		if nf.r != r {
			continue
		}
		room, taken, sent := nf.room, nf.taken, nf.sent
		*nf = nearFull{}
		if b.Limit <= 0 {
			continue
		}
		t := mono
		if sent != 0 {
			// Sent: the provider counted r soon after, within what
			// scheduling may delay a request by, not when the answer
			// came, which may be a whole generation later.
			t = min(t, sent+int64(reorderWindow))
		}
		since := float64(t-r.grantedAt) / float64(l.pol.Window)
		d := min(float64(b.Limit)*since, float64(r.cost[k]+after[k])) - room
		if d <= 0 {
			continue
		}
		up := math.Ceil(d)
		if refill := (up - d) * float64(l.pol.Window) / float64(b.Limit); refill > float64(roundUpAtMost) {
			up = math.Floor(d)
		}
		unseen[k] = int64(up) - taken
	}
	return unseen
}

// WantsSend reports whether the limiter asks to be told, by Sent, when r's
// request has been written in full. It asks only when Request.ReportsSend
// was set and r found one of its key's buckets within its own cost of the
// limit and left less than its cost in it: that bucket's refill from r's
// grant until the provider counts r is refill the provider's bucket may
// not have had, and it is held back from the key's other acquires until
// the provider will have counted r (r's response, or soon after Sent) or r
// ends, and no longer than the refill r's cost and the grants after it
// could take. Without Sent, the hold lasts until the response.
func (r *Reservation) WantsSend() bool { return r.wantsSend }

// Sent records that r's request has been written to the provider in full:
// the refill held back for it (WantsSend) stops growing once the provider
// will have counted the request, soon after; the response ends the hold.
// Sent does nothing unless WantsSend reports true, and nothing when called
// again.
func (r *Reservation) Sent() {
	ks := r.ks
	_, mono := clock()
	ks.mu.Lock()
	for k := range ks.nearFull {
		if nf := &ks.nearFull[k]; nf.r == r && nf.watched && nf.sent == 0 {
			nf.sent = mono
		}
	}
	ks.mu.Unlock()
	ks.wake()
}

// holdRefill takes off ks's level, for each kind whose tracked grant is
// watched, the refill the level has had since that grant beyond the room
// the grant left (refillNotSeen's amount so far, in whole units). It
// returns, per kind, the moment the amount stops growing (zero when it
// has). now and mono are the clock's. ks.mu must be held.
func (l *Limiter) holdRefill(ctx context.Context, ks *keyState, now time.Time, mono int64) (until [NumKinds]time.Time) {
	var d Cost
	var afterOf *Reservation
	var after Cost
	win := float64(l.pol.Window)
	for k, b := range ks.last.Buckets {
		nf := &ks.nearFull[k]
		if nf.r == nil || !nf.watched || b.Limit <= 0 {
			continue
		}
		if afterOf != nf.r {
			afterOf, after = nf.r, ks.costAfter(nf.r)
		}
		lim, most := float64(b.Limit), float64(nf.r.cost[k]+after[k])
		if most <= nf.room {
			continue // the limiter's own bucket would be full first
		}
		// The hold grows until the full refill is held, or, once the
		// request was sent, until the provider will have counted it:
		// within reorderWindow of the send, as refillNotSeen assumes
		// (the response, which ends the hold, usually comes sooner).
		end := nf.r.grantedAt + int64((most+nf.room)/lim*win)
		if nf.sent != 0 {
			end = min(end, nf.sent+int64(reorderWindow))
		}
		t := min(mono, end)
		if end > mono {
			until[k] = now.Add(time.Duration(end - mono))
		}
		since := float64(t-nf.r.grantedAt) / win
		if x := int64(math.Floor(min(lim*since, most)-nf.room)) - nf.taken; x > 0 {
			d[k] = x
		}
	}
	if l.takeRefill(ctx, ks, d, now) == nil {
		for k := range d {
			ks.nearFull[k].taken += d[k]
		}
	}
	return until
}

// takeRefill charges d, refill the provider's buckets did not have, to ks's
// buckets and to ks.last. ks.mu must be held.
func (l *Limiter) takeRefill(ctx context.Context, ks *keyState, d Cost, now time.Time) error {
	if d == (Cost{}) {
		return nil
	}
	if err := l.store.Adjust(ctx, ks.key, d, &l.pol, now); err != nil {
		return storeErr(err)
	}
	for k := range ks.last.Buckets {
		ks.last.Buckets[k].Level -= float64(d[k])
	}
	return nil
}

// costAfter sums the cost of the unacknowledged reservations granted after
// r. ks.mu must be held.
func (ks *keyState) costAfter(r *Reservation) Cost {
	var sum Cost
	if !r.inUnacked {
		return sum
	}
	for x := r.unext; x != nil; x = x.unext {
		addCost(&sum, &x.cost, 1)
	}
	return sum
}
