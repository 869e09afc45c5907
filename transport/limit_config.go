package transport

import (
	"net/http"
	"time"

	"github.com/sluicehq/sluice/limiter"
)

// limitConfig holds the settings of the limit layer.
type limitConfig struct {
	limiter *limiter.Limiter                          // shared limiter; nil: Limit builds its own
	opts    []limiter.Option                          // for the limiter Limit builds
	key     func(*http.Request, RequestFields) string // nil: the default, limitKeys.key
}

func defaultLimitConfig() limitConfig { return limitConfig{} }

// newLimiter returns the limiter of the limit layer — the one passed with
// WithLimiter, or a new one built from the limiter options — and whether it
// is new, so that its maker owns it and closes it. Limit and New both build
// their limiter here.
func (lc *limitConfig) newLimiter() (l *limiter.Limiter, owned bool) {
	if lc.limiter != nil {
		return lc.limiter, false
	}
	return limiter.New(lc.opts...), true
}

// WithLimiter makes the limit layer use l instead of building its own, so
// that several clients or stacks spending one quota share one limiter. The
// limiter options (WithLimits, WithWindow, WithLimiterOptions) are then
// ignored: l was configured when it was made.
func WithLimiter(l *limiter.Limiter) Option {
	return func(c *config) { c.limit.limiter = l }
}

// WithLimits sets explicit limits per window for every key; they apply from
// the first request and cap what the limiter learns from the provider's
// headers. Without them the limits are learned.
func WithLimits(l limiter.Limits) Option {
	return WithLimiterOptions(limiter.WithLimits(l))
}

// WithWindow sets the period the limits count over (default one minute, the
// providers' window; tests compress it).
func WithWindow(d time.Duration) Option {
	return WithLimiterOptions(limiter.WithWindow(d))
}

// WithLimiterOptions passes options to the limiter the limit layer builds:
// limiter.WithConcurrency, WithMaxQueue, WithAIMD, WithFirstWave and so on.
func WithLimiterOptions(opts ...limiter.Option) Option {
	return func(c *config) { c.limit.opts = append(c.limit.opts, opts...) }
}

// WithLimitKey sets how requests are grouped under one set of limits. The
// default is the API key's fingerprint plus the model, because the providers
// limit per model. The key appears in telemetry (sluice.key): it must never
// contain an API key itself; use provider fingerprints.
func WithLimitKey(f func(r *http.Request, body RequestFields) string) Option {
	return func(c *config) {
		if f != nil {
			c.limit.key = f
		}
	}
}
