package limiter

import (
	"context"
	"time"
)

// Store holds the token buckets and cool-downs of every key. The Limiter
// keeps what is local to a process — the concurrency cap, the FIFO queue,
// priorities, adaptive concurrency, token estimates — and asks its Store
// about everything a provider counts. The default is an in-memory store
// (NewMemoryStore); a shared store (for example one backed by Redis) lets a
// fleet of processes share one provider quota, plugged in with WithStore.
//
// Contract, which a shared implementation must keep:
//
//   - Reserve is atomic across all of a key's buckets: either every bucket
//     is charged c, or none is. It charges nothing while the key is cooling
//     down, and nothing when any bucket lacks tokens; it then says when to
//     try again and why. A cost larger than a bucket's limit is charged
//     when that bucket is full, taking it into debt: the cost is an
//     estimate, and the provider, not the store, judges whether a request
//     is too large (its 429 is the evidence).
//   - Adjust applies a signed correction (settle: the real usage minus the
//     reservation; cancel: minus the whole reservation). A bucket may go
//     below zero (debt) and never goes above its limit.
//   - Observe adopts provider-reported limits: capacity from Limit, current
//     level from Remaining minus pending — what this process reserved after
//     the observed request and the provider has probably not counted yet —
//     and never raises the level (reservations the provider has not seen are
//     still owed). The limit in effect is min(learned, p.Caps[k]) where both
//     are set.
//   - Cooldown makes every Reserve for key deny with ReasonCooldown until
//     until; a later, earlier until never shortens it.
//   - now is the caller's clock; a shared store should use its own clock
//     (Redis TIME) so processes with skewed clocks agree.
//
// A bucket with no limit (neither learned nor capped) does not constrain.
// Buckets refill continuously at limit/p.Window, as the providers' do.
// Implementations must be safe for concurrent use and should bound every
// operation's duration themselves; errors are returned to the caller of
// Acquire wrapped, so a store that wants to fail open handles that inside.
// Package storetest checks an implementation against this contract.
type Store interface {
	Reserve(ctx context.Context, key string, c Cost, p *Policy, now time.Time) (Decision, error)
	Adjust(ctx context.Context, key string, delta Cost, p *Policy, now time.Time) error
	Observe(ctx context.Context, key string, o Observation, pending Cost, p *Policy, now time.Time) error
	Cooldown(ctx context.Context, key string, until time.Time) error
	State(ctx context.Context, key string, p *Policy, now time.Time) (State, error)
}

// StateObserver is an optional extension of Store: ObserveState is
// Observe that also returns the key's state after it, in one operation.
// The Limiter reads the state after every Observe; a store that implements
// this saves that second call (for a shared store, a second round trip per
// response).
type StateObserver interface {
	ObserveState(ctx context.Context, key string, o Observation, pending Cost, p *Policy, now time.Time) (State, error)
}

// KeyForgetter is an optional extension of Store: the Limiter calls Forget
// when it retires a key that has been idle for two windows (nothing queued
// or in flight), so a store that keeps per-key state in the process can
// drop it. A later use of the key must work as for a new key. Shared state
// (in Redis, say) should be left to expire on its own: other processes may
// still use the key.
type KeyForgetter interface {
	Forget(key string)
}

// Policy is the limiter configuration a Store needs on every call: it is
// passed each time so a store holds no configuration of its own and one
// store can serve several limiters.
type Policy struct {
	// Window is the period a limit counts over (one minute at the providers).
	Window time.Duration
	// Caps are explicit limits per kind; 0 means none. They override
	// unknown limits and cap learned ones.
	Caps [NumKinds]int64
}

// Decision is the outcome of Store.Reserve.
type Decision struct {
	// OK is true when the cost was charged.
	OK bool
	// RetryAt is, when !OK, the earliest time the reservation could succeed
	// if nothing else happens.
	RetryAt time.Time
	// Reason is, when !OK, the bucket (or cooldown) that denied it.
	Reason Reason
	// State is the key's state after the decision.
	State State
}

// State is a snapshot of one key's buckets.
type State struct {
	Buckets [NumKinds]BucketState
	// CooldownUntil is when the key's cool-down ends (zero: none).
	CooldownUntil time.Time
	// Learned is true once any provider reading has been observed for the
	// key (by any process sharing the store).
	Learned bool
}

// BucketState is one bucket at a moment.
type BucketState struct {
	// Limit is the capacity in effect per window; 0 means unlimited.
	Limit int64
	// Level is the tokens available now; negative while in debt.
	Level float64
	// Learned is the limit the provider last reported (0: never).
	Learned int64
	// Reset is the provider's last reported reset time.
	Reset time.Time
}

// Utilization returns the used share of the bucket, 0..1 (debt counts as 1),
// or 0 for an unlimited bucket.
func (b BucketState) Utilization() float64 {
	if b.Limit <= 0 {
		return 0
	}
	u := 1 - b.Level/float64(b.Limit)
	if u < 0 {
		return 0
	}
	if u > 1 {
		return 1
	}
	return u
}
