package proxy

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/sluicehq/sluice/limiter"
	"github.com/sluicehq/sluice/limiter/redisstore"
	"github.com/sluicehq/sluice/telemetry"
	"github.com/sluicehq/sluice/transport"
)

// This file is the proxy's only use of transport's and limiter's options:
// the translation of a Config into a sluice stack.

// stackDeps are what the stack is built with beside the Config.
type stackDeps struct {
	base   http.RoundTripper  // nil: transport's default
	store  *redisstore.Store  // nil: limits in memory
	tel    []telemetry.Option // where spans and metrics go
	logger *slog.Logger
}

// newStack builds the sluice stack c describes.
func newStack(c Config, d stackDeps) *transport.Transport {
	return transport.New(d.base, stackOptions(c, d)...)
}

func stackOptions(c Config, d stackDeps) []transport.Option {
	opts := []transport.Option{transport.WithLogger(d.logger), transport.WithTelemetry(d.tel...)}
	var lopts []limiter.Option
	if c.Window > 0 {
		lopts = append(lopts, limiter.WithWindow(c.Window))
	}
	if l := (limiter.Limits{Requests: c.Requests, InputTokens: c.InputTokens, OutputTokens: c.OutputTokens, Tokens: c.Tokens}); l != (limiter.Limits{}) {
		lopts = append(lopts, limiter.WithLimits(l))
	}
	if c.Concurrency > 0 {
		lopts = append(lopts, limiter.WithConcurrency(c.Concurrency))
	}
	if c.MaxQueue > 0 {
		lopts = append(lopts, limiter.WithMaxQueue(c.MaxQueue))
	}
	if d.store != nil {
		lopts = append(lopts, limiter.WithStore(d.store))
		opts = append(opts, transport.WithSharedBreaker(d.store))
	}
	opts = append(opts, transport.WithLimiterOptions(lopts...))
	if c.MaxAttempts > 0 {
		opts = append(opts, transport.WithMaxAttempts(c.MaxAttempts))
	}
	if c.BackoffMin > 0 || c.BackoffMax > 0 {
		lo, hi := c.BackoffMin, c.BackoffMax
		if lo == 0 {
			lo = min(hi, defaultBackoffMin)
		}
		if hi == 0 {
			hi = max(lo, defaultBackoffMax)
		}
		opts = append(opts, transport.WithBackoff(lo, hi))
	}
	if c.FailFast {
		opts = append(opts, transport.WithFailFast())
	}
	return opts
}

// The retry layer's default backoff (transport.WithBackoff's documented
// default), used for the end of the range a flag leaves at zero.
const (
	defaultBackoffMin = 500 * time.Millisecond
	defaultBackoffMax = 4 * time.Second
)
