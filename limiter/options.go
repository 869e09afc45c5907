package limiter

import (
	"context"
	"time"
)

// Option configures a Limiter.
type Option func(*Limiter)

// WithStore makes the limiter keep its buckets and cool-downs in s instead
// of in process memory; a shared store lets several processes share one
// provider quota. See Store for the contract.
func WithStore(s Store) Option { return func(l *Limiter) { l.store = s } }

// WithWindow sets the period limits count over. The providers' is one minute
// (the default); tests compress it.
func WithWindow(d time.Duration) Option { return func(l *Limiter) { l.pol.Window = d } }

// WithLimits sets explicit limits per window for every key. A limit that is
// set applies from the first request; once the provider reports its own, the
// lower of the two is in effect. With no explicit limits the limiter learns
// them from the providers' rate-limit headers.
func WithLimits(lim Limits) Option { return func(l *Limiter) { l.pol.Caps = lim.array() } }

// WithConcurrency caps the requests in flight per key (0, the default, means
// no cap). Acquires beyond it wait in a FIFO queue.
func WithConcurrency(n int) Option { return func(l *Limiter) { l.conc = n } }

// AIMD configures adaptive concurrency: the in-flight cap per key shrinks
// multiplicatively when the provider says it is overloaded (429/529, see
// Reservation.Throttled) and grows by one after a success that used the
// whole cap. Latency is deliberately not a signal: a long generation is not
// congestion. Zero fields take their defaults.
type AIMD struct {
	Initial int     // starting cap; default 8
	Min     int     // floor; default 1
	Max     int     // ceiling; default WithConcurrency's value, or 256
	Backoff float64 // multiplier on throttle; default 0.9
}

// WithAIMD enables adaptive concurrency (see AIMD).
func WithAIMD(a AIMD) Option { return func(l *Limiter) { l.aimd = &a } }

// WithMaxQueue bounds the waiters per key; one more gets ErrQueueFull.
// 0 (the default) means unbounded.
func WithMaxQueue(n int) Option { return func(l *Limiter) { l.maxQueue = n } }

// WithFirstWave sets how many requests a key with no known limits may have in
// flight before its first response arrives (default 2). Once the provider has
// answered — and reported its limits, if it does — the queue flows at the
// learned rate. It does not apply when WithLimits is set.
func WithFirstWave(n int) Option { return func(l *Limiter) { l.firstWave = n } }

// WithUtilizationHook calls fn when a key's bucket of kind k crosses
// threshold (0..1, default 0.8) upwards; it re-arms when the bucket falls
// below. fn runs on the acquiring goroutine and must not block.
func WithUtilizationHook(threshold float64, fn func(key string, k Kind, utilization float64)) Option {
	return func(l *Limiter) {
		if threshold > 0 {
			l.utilThreshold = threshold
		}
		l.utilHook = fn
	}
}

// WithBytesPerToken sets the initial bytes-per-token ratio used to estimate
// a request's input tokens from its body size (default 4). Each model's
// ratio is then calibrated from the input tokens the provider reports.
func WithBytesPerToken(r float64) Option { return func(l *Limiter) { l.bpt = r } }

// WithDefaultOutputTokens sets the output tokens reserved for a request that
// sets no max_tokens (default 1024).
func WithDefaultOutputTokens(n int64) Option { return func(l *Limiter) { l.defOut = n } }

type priorityKey struct{}

// ContextWithPriority returns a context whose requests acquire at priority p
// (the transport layer reads it).
func ContextWithPriority(ctx context.Context, p Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

// PriorityFrom returns the priority set by ContextWithPriority, Interactive
// when none is.
func PriorityFrom(ctx context.Context) Priority {
	p, _ := ctx.Value(priorityKey{}).(Priority)
	return p
}
