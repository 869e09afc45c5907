package proxy

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/sluicehq/sluice/limiter"
	"github.com/sluicehq/sluice/limiter/redisstore"
	"github.com/sluicehq/sluice/telemetry"
	"github.com/sluicehq/sluice/transport"
)

// This file is the proxy's only use of transport's settings and limiter's
// options: the translation of a Config into a sluice stack.

// stackDeps are what the stack is built with beside the Config.
type stackDeps struct {
	base   http.RoundTripper  // nil: transport's default
	store  *redisstore.Store  // nil: limits in memory
	tel    []telemetry.Option // where spans and metrics go
	logger *slog.Logger
}

// stack is the sluice stack and the limiter it was given, which the proxy
// owns and closes after it.
type stack struct {
	*transport.Transport
	limiter *limiter.Limiter
}

// Close closes the stack, then its limiter.
func (s stack) Close() error {
	return errors.Join(s.Transport.Close(), s.limiter.Close())
}

// newStack builds the sluice stack c describes. A zero Config field keeps
// the library's default (the settings structs' zero values).
func newStack(c Config, d stackDeps) stack {
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
	breaker := transport.BreakerSettings{FailFast: c.FailFast}
	if d.store != nil {
		lopts = append(lopts, limiter.WithStore(d.store))
		breaker.Shared = d.store
	}
	lim := limiter.New(lopts...)
	t := transport.New(d.base,
		transport.WithLogger(d.logger),
		transport.WithTelemetry(d.tel...),
		transport.WithLimit(transport.LimitSettings{Limiter: lim}),
		transport.WithRetry(transport.RetrySettings{
			MaxAttempts: c.MaxAttempts, InitialBackoff: c.BackoffMin, MaxBackoff: c.BackoffMax,
		}),
		transport.WithBreaker(breaker),
	)
	return stack{Transport: t, limiter: lim}
}
