package transport

import (
	"context"
	"time"

	"github.com/sluicehq/sluice/limiter"
)

// BreakerVerdicts shares circuit-breaker verdicts between processes: when
// one process's breaker for a key opens, every process holds its calls of
// that key until the verdict ends. Only the verdict — "open until" — is
// shared; the failure counting stays in each process's local gobreaker, so
// calls are never serialised through a distributed lock (which is what
// gobreaker's DistributedCircuitBreaker does: it holds a lock for the whole
// call). redisstore.Store implements it.
//
// Implementations bound their own operations and should answer fast when
// their backend is down: an error is treated as "no verdict".
type BreakerVerdicts interface {
	// OpenUntil returns when key's fleet-wide open verdict ends, on the
	// caller's clock; zero or a past time means none.
	OpenUntil(ctx context.Context, key string) (time.Time, error)
	// Open publishes that key's breaker is open until until; a later,
	// earlier until never shortens a verdict.
	Open(ctx context.Context, key string, until time.Time) error
}

// awaitShared holds a call while the fleet's verdict for e's key is open.
func (b *breakerTransport) awaitShared(ctx context.Context, e *breakerEntry) error {
	if b.cfg.Shared == nil {
		return nil
	}
	for {
		until, err := b.cfg.Shared.OpenUntil(ctx, e.key)
		if err != nil || !time.Now().Before(until) {
			return nil // no verdict, or Redis trouble: the local breaker decides
		}
		if b.cfg.FailFast {
			return b.refuse(ctx, e, until, "fail_fast", nil)
		}
		if dl, ok := ctx.Deadline(); ok && dl.Before(until) {
			return b.refuse(ctx, e, until, "deadline", nil)
		}
		t := time.NewTimer(time.Until(until))
		select {
		case <-ctx.Done():
			t.Stop()
			return b.refuse(ctx, e, until, "canceled", ctx.Err())
		case <-b.closed:
			t.Stop()
			return b.refuse(ctx, e, until, "canceled", limiter.ErrClosed)
		case <-t.C:
		}
	}
}

// publishShared shares a verdict the call's outcome just produced.
func (b *breakerTransport) publishShared(ctx context.Context, e *breakerEntry) {
	if b.cfg.Shared == nil {
		return
	}
	e.mu.Lock()
	until := e.publish
	e.publish = time.Time{}
	e.mu.Unlock()
	if !until.IsZero() {
		_ = b.cfg.Shared.Open(context.WithoutCancel(ctx), e.key, until)
	}
}
