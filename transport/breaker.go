package transport

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluicehq/sluice/internal/readmostly"
	"github.com/sluicehq/sluice/limiter"
	"github.com/sluicehq/sluice/telemetry"
)

// Breaker returns a circuit-breaker layer over next (http.DefaultTransport
// when nil), one github.com/sony/gobreaker/v2 two-step breaker per key
// (BreakerSettings.Key; default host + model), created on demand.
//
// What counts: a 5xx response (529 included) or a transport error is a
// failure; any other response, 429 included — quota is the limiter's and
// the retry layer's business — is a success; other 4xx responses and calls
// whose context ended (canceled or past its deadline) or that a layer below
// refused (a local refusal: see the package documentation) are not
// counted. The breaker opens on a run of consecutive failures, or when the
// failures over a short rolling window reach a high ratio of a small
// minimum of calls (BreakerSettings): an outage, not the ordinary share of
// 529s a degraded API answers.
//
// While a breaker is open nothing reaches the network. By default a call
// waits until the breaker lets traffic through again: after the break, the
// first calls become half-open probes (BreakerSettings.Probes); if they
// succeed the breaker closes and the waiting calls proceed, if one fails it
// opens for another break. A call whose deadline ends before the next probe
// is due — and, with BreakerSettings.FailFast, every call — returns at once
// with a *BreakerOpenError. Each state change adds a span event to the call that
// caused it, counts in sluice.breaker.transitions and logs a slog record.
func Breaker(next http.RoundTripper, s BreakerSettings, opts ...LayerOption) http.RoundTripper {
	c := newConfig(opts)
	c.breaker = s
	return newBreaker(next, c)
}

// newBreaker is the breaker layer over next, for Breaker and New.
func newBreaker(next http.RoundTripper, c *config) *breakerTransport {
	if next == nil {
		next = http.DefaultTransport
	}
	b := &breakerTransport{next: next, cfg: c.breaker.withDefaults(), log: c.logger, closed: c.closed, entries: map[string]*breakerEntry{},
		byHostModel: readmostly.New[hostModel, *breakerEntry](maxBreakerIndex)}
	b.ins = newBreakerInstruments(c.tel.Meter(), b)
	return b
}

type breakerTransport struct {
	next http.RoundTripper
	cfg  BreakerSettings // with defaults
	// closed is closed by Transport.Close; nil: never
	closed <-chan struct{}
	log    *slog.Logger
	ins    breakerInstruments

	mu          sync.Mutex // guards entries and the fields below it
	entries     map[string]*breakerEntry
	byHostModel *readmostly.Map[hostModel, *breakerEntry] // the same entries, by default key
	lookups     uint                                      // entry calls, for pruning (breaker_prune.go)
	swept       time.Time                                 // the last prune
}

// breakerEntry is the breaker of one key.
type breakerEntry struct {
	key string
	cb  *gobreaker.TwoStepCircuitBreaker[struct{}]

	// mu serialises the calls into cb, so that its OnStateChange callback,
	// which runs inside them, knows the call (cur) that caused the change.
	// It guards every field below.
	mu      sync.Mutex
	cur     context.Context
	state   gobreaker.State
	retryAt time.Time     // when an open breaker turns half-open
	changed chan struct{} // closed and replaced whenever waiters should look again
	publish time.Time     // an open verdict to share (BreakerSettings.Shared), zero: none
	// run counts the current run of consecutive failed attempts, and runAt
	// is when its earliest one was sent (zero: no run). sluice keeps the
	// run itself because gobreaker's ConsecutiveFailures only counts
	// within its rolling window, and a caller backing off between
	// attempts may fail more times in a row than fit in one.
	run   int
	runAt time.Time
	// reopens counts the breaks since the breaker last closed: each failed
	// probe doubles the next break (breakFor).
	reopens int

	// users counts the calls between entry and the end of their RoundTrip
	// (waiting, probing or in flight), with BreakerSettings.Key; used and idle
	// are the pruning sweep's, guarded by the transport's mu.
	users atomic.Int32
	used  bool
	idle  int
}

// entry returns the breaker of key, made on demand. A user call (with
// BreakerSettings.Key) counts as one of its users until it ends (pruning).
func (b *breakerTransport) entry(key string, user bool) *breakerEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.maybePrune()
	e, ok := b.entries[key]
	if !ok {
		e = b.newEntry(key)
		b.entries[key] = e
	}
	if user {
		e.used = true
		e.users.Add(1)
	}
	return e
}

func (b *breakerTransport) newEntry(key string) *breakerEntry {
	s := b.cfg
	e := &breakerEntry{key: key, changed: make(chan struct{})}
	e.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:         key,
		MaxRequests:  s.Probes,
		Interval:     s.Window,
		BucketPeriod: s.Window / 10,
		// The break is sluice's own (allow, breakFor): no call is let
		// through before retryAt. gobreaker's Timeout is the shortest
		// break, less a nanosecond because gobreaker turns half-open only
		// strictly after it; an answer to a request sent before the trip
		// may turn it half-open early, which allow ignores until retryAt.
		Timeout: max(s.Break-time.Nanosecond, time.Nanosecond),
		ReadyToTrip: func(c gobreaker.Counts) bool { // e.mu is held
			if s.ConsecutiveFailures > 0 && e.run >= s.ConsecutiveFailures {
				return true // an outage: everything fails
			}
			n := c.TotalFailures + c.TotalSuccesses
			return n >= s.MinRequests && float64(c.TotalFailures) >= s.FailureRatio*float64(n)
		},
		IsExcluded: func(err error) bool { return errors.Is(err, errBreakerExcluded) },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			b.stateChanged(e, from, to) // e.mu is held
		},
	})
	return e
}

// Outcomes handed to gobreaker.
var (
	errBreakerFailure  = errors.New("breaker: failure")
	errBreakerExcluded = errors.New("breaker: not counted")
)

// breakerOutcome classifies one attempt for the breaker.
func breakerOutcome(ctx context.Context, resp *http.Response, err error) error {
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
			localRefusal(err) {
			// Refused before reaching the network: says nothing of the API.
			return errBreakerExcluded
		}
		return errBreakerFailure
	}
	switch s := resp.StatusCode; {
	case s >= 500:
		return errBreakerFailure
	case s == http.StatusTooManyRequests:
		return nil
	case s >= 400:
		return errBreakerExcluded
	}
	return nil
}

// fresh returns the outcome of an attempt sent at sent as the breaker
// counts it; e.mu is held. A success from an attempt sent before the
// current run of failures began is stale evidence — it was on its way
// before the API failed — so it is not counted and does not end the run:
// when an outage begins under load, the answers to the requests already in
// flight must not hide it until every caller has met a 529. A success sent
// after the run began is evidence the API serves, and ends it: under
// degradation, where a share of attempts fail, such successes keep coming
// and runs stay short.
func (e *breakerEntry) fresh(sent time.Time, outcome error) error {
	switch {
	case outcome == nil && sent.Before(e.runAt):
		return errBreakerExcluded
	case outcome == nil:
		e.run, e.runAt = 0, time.Time{}
	case outcome == errBreakerFailure:
		e.run++
		if e.runAt.IsZero() || sent.Before(e.runAt) {
			e.runAt = sent
		}
	}
	return outcome
}

// RoundTrip implements http.RoundTripper.
func (b *breakerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	e := b.entryOf(req)
	if b.cfg.Key != nil {
		defer e.users.Add(-1)
	}
	done, err := b.admit(ctx, e)
	if err != nil {
		if req.Body != nil {
			req.Body.Close() // a RoundTripper closes the body, even on error
		}
		return nil, err
	}
	sent := time.Now()
	resp, err := b.next.RoundTrip(req)
	e.mu.Lock()
	e.cur = ctx
	done(e.fresh(sent, breakerOutcome(ctx, resp, err)))
	e.cur = nil
	if e.state == gobreaker.StateHalfOpen {
		e.notify() // a probe slot may be free again
	}
	e.mu.Unlock()
	b.publishShared(ctx, e)
	return resp, err
}

// admit waits until e lets the call through, or refuses it.
func (b *breakerTransport) admit(ctx context.Context, e *breakerEntry) (func(error), error) {
	if err := b.awaitShared(ctx, e); err != nil {
		return nil, err
	}
	waited := false
	for {
		e.mu.Lock()
		done, err := e.allow(ctx)
		retryAt, changed, state := e.retryAt, e.changed, e.state
		e.mu.Unlock()
		if err == nil {
			return done, nil
		}
		if b.cfg.FailFast {
			return nil, b.refuse(ctx, e, retryAt, "fail_fast", nil)
		}
		if dl, ok := ctx.Deadline(); ok && state != gobreaker.StateClosed && dl.Before(retryAt) {
			return nil, b.refuse(ctx, e, retryAt, "deadline", nil)
		}
		if !waited {
			waited = true
			trace.SpanFromContext(ctx).AddEvent(telemetry.EventBreakerWait, trace.WithAttributes(
				telemetry.AttrLimitKey.String(e.key), telemetry.AttrBreakerRetryAt.String(retryAt.Format(time.RFC3339Nano))))
		}
		if err := waitBreaker(ctx, b.closed, changed, state, retryAt); err != nil {
			return nil, b.refuse(ctx, e, retryAt, "canceled", err)
		}
	}
}

// allow asks the breaker for a slot; e.mu is held. The break — longer
// after each failed probe — is enforced here, by not asking gobreaker
// before retryAt, whatever state it reports.
func (e *breakerEntry) allow(ctx context.Context) (func(error), error) {
	if e.state != gobreaker.StateClosed && time.Now().Before(e.retryAt) {
		return nil, gobreaker.ErrOpenState
	}
	e.cur = ctx
	done, err := e.cb.Allow()
	e.cur = nil
	return done, err
}

// waitBreaker blocks until the breaker may have changed: a state change or
// a freed probe slot (changed), or the end of the break — gobreaker turns
// half-open lazily, on the next Allow — or until the call's context ends or
// the Transport closes (closed).
func waitBreaker(ctx context.Context, closed, changed <-chan struct{}, state gobreaker.State, retryAt time.Time) error {
	var tick <-chan time.Time
	if d := time.Until(retryAt); state != gobreaker.StateClosed && d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		tick = t.C
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-closed:
		return limiter.ErrClosed
	case <-changed:
	case <-tick:
	}
	return nil
}

func (b *breakerTransport) refuse(ctx context.Context, e *breakerEntry, retryAt time.Time, reason string, cause error) error {
	attrs := []attribute.KeyValue{telemetry.AttrLimitKey.String(e.key), telemetry.AttrBreakerReason.String(reason)}
	b.ins.rejections.Add(ctx, 1, metric.WithAttributes(attrs...))
	trace.SpanFromContext(ctx).AddEvent(telemetry.EventBreakerReject, trace.WithAttributes(attrs...))
	return &BreakerOpenError{Key: e.key, RetryAt: retryAt, Reason: reason, Err: cause}
}

// stateChanged reports a transition; e.mu is held.
func (b *breakerTransport) stateChanged(e *breakerEntry, from, to gobreaker.State) {
	e.state = to
	switch to {
	case gobreaker.StateOpen:
		if from == gobreaker.StateHalfOpen {
			e.reopens++ // a probe failed: the outage goes on
		}
		e.retryAt = time.Now().Add(b.cfg.breakFor(e.reopens))
		e.publish = e.retryAt
	case gobreaker.StateClosed:
		e.reopens = 0
	}
	e.run, e.runAt = 0, time.Time{} // gobreaker clears its counts on every change
	e.notify()
	ctx := e.cur
	if ctx == nil {
		ctx = context.Background()
	}
	attrs := []attribute.KeyValue{telemetry.AttrLimitKey.String(e.key),
		telemetry.AttrBreakerFrom.String(from.String()), telemetry.AttrBreakerTo.String(to.String())}
	trace.SpanFromContext(ctx).AddEvent(telemetry.EventBreakerStateChange, trace.WithAttributes(attrs...))
	b.ins.transitions.Add(ctx, 1, metric.WithAttributes(attrs...))
	level := slog.LevelInfo
	if to == gobreaker.StateOpen {
		level = slog.LevelWarn
	}
	b.log.LogAttrs(ctx, level, "sluice: circuit breaker state changed",
		slog.String("key", e.key), slog.String("from", from.String()), slog.String("to", to.String()),
		slog.Time("retry_at", e.retryAt))
}

// notify wakes every waiter; e.mu is held.
func (e *breakerEntry) notify() {
	close(e.changed)
	e.changed = make(chan struct{})
}
