package redisstore

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Operations, as counted by telemetry.MetricRedisStoreFallbacks.
const (
	opReserve  = "reserve"
	opAdjust   = "adjust"
	opObserve  = "observe"
	opCooldown = "cooldown"
	opState    = "state"
)

// health tracks whether Redis answers. While down, operations go straight
// to local limits — no caller waits for a dead Redis — and one probe
// goroutine, owned by the store, pings Redis until it answers or Close.
// mu guards probing's start against Close.
type health struct {
	down    atomic.Bool
	outages atomic.Uint64 // counts switches to local mode
	mu      sync.Mutex
	closed  bool
	done    chan struct{}
	wg      sync.WaitGroup
}

// try runs f against Redis, bounded by the store's timeout, unless Redis is
// known to be down. It reports whether the caller must serve the operation
// locally; a FailClosed store returns ErrUnavailable instead. An error of
// the caller's own context is returned as it is and says nothing about
// Redis.
func (s *Store) try(ctx context.Context, op string, f func(context.Context) error) (local bool, err error) {
	if !s.down.Load() {
		cctx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
		err := f(cctx)
		cancel()
		if err == nil {
			return false, nil
		}
		if cerr := ctx.Err(); cerr != nil {
			return false, cerr
		}
		s.markDown(ctx, err)
	}
	s.inst.fallback(ctx, op)
	if s.cfg.mode == FailClosed {
		return false, fmt.Errorf("%w (%s)", ErrUnavailable, op)
	}
	return true, nil
}

// Shared reports whether the store is in shared mode: Redis answered its
// last operation or probe.
func (s *Store) Shared() bool { return !s.down.Load() }

// markDown enters local mode, once per outage: it logs, counts and starts
// the probe.
func (s *Store) markDown(ctx context.Context, cause error) {
	if !s.down.CompareAndSwap(false, true) {
		return
	}
	s.outages.Add(1)
	s.cfg.logger.Warn("sluice: redis unavailable, limiting locally until it returns",
		"failure_mode", s.cfg.mode.String(), "local_share", s.cfg.share, "error", cause)
	s.inst.transition(ctx, modeLocal)
	s.mu.Lock()
	if !s.closed {
		s.wg.Add(1)
		go s.probe()
	}
	s.mu.Unlock()
}

// probe pings Redis every probe interval until it answers (then shared mode
// resumes) or the store is closed. Loading the reserve script is the ping:
// it also warms the script cache of a restarted server.
func (s *Store) probe() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.probe)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.timeout)
		err := reserveScript.Load(ctx, s.rdb).Err()
		cancel()
		if err == nil {
			// Logged and counted before Shared reports it, so that whoever
			// sees shared mode also sees the transition.
			s.cfg.logger.Info("sluice: redis available again, limits are shared")
			s.inst.transition(context.Background(), modeShared)
			s.down.Store(false)
			return
		}
	}
}

func (s *Store) stopProbe() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	s.mu.Unlock()
	s.wg.Wait()
}
