package redisstore

import (
	"log/slog"
	"time"

	"github.com/sluicehq/sluice/telemetry"
)

// FailureMode is what the store does while Redis is unavailable.
type FailureMode uint8

// Failure modes.
const (
	// FailLocal keeps limiting with local buckets holding a share of each
	// limit (WithLocalShare, WithReplicas). The default.
	FailLocal FailureMode = iota
	// FailOpen admits every request without limits; cool-downs are still
	// honoured within the process.
	FailOpen
	// FailClosed refuses: every operation returns an error wrapping
	// ErrUnavailable, so Acquire fails until Redis returns.
	FailClosed
)

// String returns "local", "open" or "closed".
func (m FailureMode) String() string {
	switch m {
	case FailLocal:
		return "local"
	case FailOpen:
		return "open"
	case FailClosed:
		return "closed"
	}
	return "unknown"
}

// Option configures a Store.
type Option func(*config)

type config struct {
	prefix  string
	timeout time.Duration
	probe   time.Duration
	ttl     time.Duration
	share   float64
	mode    FailureMode
	logger  *slog.Logger
	tel     []telemetry.Option
	verdict time.Duration // how long a read breaker verdict is reused
}

func defaultConfig() config {
	return config{
		prefix:  "sluice",
		timeout: 100 * time.Millisecond,
		probe:   250 * time.Millisecond,
		ttl:     15 * time.Minute,
		share:   1,
		logger:  slog.Default(),
		verdict: 100 * time.Millisecond,
	}
}

// WithVerdictCache sets how long OpenUntil reuses a breaker verdict it
// read from Redis before asking again (default 100 ms; 0 asks on every
// call). A closed breaker then costs at most one round trip per key and
// interval instead of one per call, and another process's verdict is seen
// at most this late. Open updates the cache at once.
func WithVerdictCache(d time.Duration) Option {
	return func(c *config) {
		if d >= 0 {
			c.verdict = d
		}
	}
}

// WithPrefix sets the namespace of the store's Redis keys (default
// "sluice"), for several fleets sharing one Redis.
func WithPrefix(p string) Option {
	return func(c *config) {
		if p != "" {
			c.prefix = p
		}
	}
}

// WithTimeout bounds every Redis operation (default 100 ms). An operation
// that takes longer counts as Redis being unavailable.
func WithTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithProbeInterval sets how often the store pings Redis while it is
// unavailable (default 250 ms); shared mode resumes at the first answer.
func WithProbeInterval(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.probe = d
		}
	}
}

// WithTTL sets how long a key's buckets stay in Redis after their last use
// (default 15 minutes, never less than two windows, and never less than
// the time until every bucket is full again, so that a debt is repaid
// rather than forgotten). An expired key starts again with full buckets
// and must re-learn its limits.
func WithTTL(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.ttl = d
		}
	}
}

// WithReplicas sets the number of processes expected to share the quota;
// while Redis is unavailable each process keeps 1/n of every limit. It is
// WithLocalShare(1/n). The default is 1: the whole quota.
func WithReplicas(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.share = 1 / float64(n)
		}
	}
}

// WithLocalShare sets the share of every limit, in (0, 1], a process keeps
// while Redis is unavailable (default 1, or 1/WithReplicas).
func WithLocalShare(f float64) Option {
	return func(c *config) {
		if f > 0 && f <= 1 {
			c.share = f
		}
	}
}

// WithFailureMode sets what the store does while Redis is unavailable
// (default FailLocal).
func WithFailureMode(m FailureMode) Option { return func(c *config) { c.mode = m } }

// WithLogger sets the logger of the store's mode changes (default
// slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithTelemetry sets where the store's metrics go (default: the global
// MeterProvider). See telemetry.MetricRedisStoreFallbacks.
func WithTelemetry(opts ...telemetry.Option) Option {
	return func(c *config) { c.tel = append(c.tel, opts...) }
}
