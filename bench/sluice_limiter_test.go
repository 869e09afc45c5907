package bench

import (
	"context"

	"github.com/sluicehq/sluice/limiter"
)

// limiterQueue is sluice's limiter with one concurrency slot for one key.
type limiterQueue struct{ l *limiter.Limiter }

const limiterKey = "bench"

var limiterRequest = limiter.Request{Model: "claude-sonnet-4-5", InputTokens: 100, MaxOutputTokens: 64}

func (q limiterQueue) Hold(ctx context.Context) (func(), error) {
	r, err := q.l.Acquire(ctx, limiterKey, limiterRequest)
	if err != nil {
		return nil, err
	}
	return r.Release, nil
}

func (q limiterQueue) Wait(ctx context.Context) error {
	r, err := q.l.Acquire(ctx, limiterKey, limiterRequest)
	if err == nil {
		r.Release()
	}
	return err
}

func (q limiterQueue) Queued() int { return q.l.StatsFor(limiterKey).Queued }
func (q limiterQueue) Close()      { _ = q.l.Close() }

// bench/run.sh sets the sluice_limiter tag when package limiter is on main.
func init() {
	newLimiterQueue = func() waitQueue {
		return limiterQueue{limiter.New(limiter.WithConcurrency(1))}
	}
}
