package transport

import (
	"net/http"
	"time"
)

// BreakerSettings tune the circuit breaker. A zero field takes its default.
//
// The default trip rule tells an outage from a degraded API: the breaker
// opens on ConsecutiveFailures failed attempts in a row (6), or when at
// least MinRequests (10) attempts in Window (10 s) fail at FailureRatio
// (0.9) or more. A degraded API — 10–30 % of attempts answered 529 or 500,
// which retries ride through — seldom fails 6 times in a row (0.3⁶ ≈
// 7·10⁻⁴ per attempt), so the breaker stays closed; a down API fails every
// attempt, so it opens after 6. A success from an attempt sent before the
// latest failed one does not end the run (it was in flight before the API
// failed). PollyBreakerSettings are the settings of Polly's
// standard resilience handler (10 % of at least 100 calls in 30 s), the
// defaults of sluice before v0.x.
type BreakerSettings struct {
	// ConsecutiveFailures trips the breaker when that many counted
	// attempts in a row fail, whatever the window holds. Default 6; a
	// negative value turns the rule off (only the ratio trips).
	ConsecutiveFailures int
	// FailureRatio trips the breaker when failures / (failures +
	// successes) over Window reaches it. Default 0.9; values above 1 mean 1.
	FailureRatio float64
	// MinRequests is how many calls Window must hold before the ratio is
	// judged. Default 10.
	MinRequests uint32
	// Window is the rolling window of the ratio, kept in ten buckets.
	// Default 10 s.
	Window time.Duration
	// Break is how long an open breaker refuses traffic before it lets a
	// probe through. Default 5 s.
	Break time.Duration
	// Probes is how many calls a half-open breaker lets through; that
	// many successes close it, one failure opens it again. Default 1.
	Probes uint32
}

// Default breaker settings.
const (
	DefaultBreakerConsecutiveFailures = 6
	DefaultBreakerFailureRatio        = 0.9
	DefaultBreakerMinRequests         = 10
	DefaultBreakerWindow              = 10 * time.Second
	DefaultBreakerBreak               = 5 * time.Second
	DefaultBreakerProbes              = 1
)

// PollyBreakerSettings returns the trip rule of Polly's standard
// resilience handler, sluice's defaults until the consecutive-failure rule:
// open at a 10 % failure ratio once 100 calls are in a 30 s window, no
// consecutive-failure rule. For an LLM API it opens under ordinary
// degradation and needs 100 calls to see an outage (docs/breaker.md).
func PollyBreakerSettings() BreakerSettings {
	return BreakerSettings{ConsecutiveFailures: -1, FailureRatio: 0.1, MinRequests: 100,
		Window: 30 * time.Second, Break: 5 * time.Second, Probes: 1}
}

func (s BreakerSettings) withDefaults() BreakerSettings {
	if s.ConsecutiveFailures == 0 {
		s.ConsecutiveFailures = DefaultBreakerConsecutiveFailures
	}
	if s.FailureRatio <= 0 {
		s.FailureRatio = DefaultBreakerFailureRatio
	}
	s.FailureRatio = min(s.FailureRatio, 1)
	if s.MinRequests == 0 {
		s.MinRequests = DefaultBreakerMinRequests
	}
	if s.Window <= 0 {
		s.Window = DefaultBreakerWindow
	}
	if s.Break <= 0 {
		s.Break = DefaultBreakerBreak
	}
	if s.Probes == 0 {
		s.Probes = DefaultBreakerProbes
	}
	return s
}

// breakerConfig holds the settings of the breaker layer.
type breakerConfig struct {
	settings BreakerSettings
	failFast bool
	shared   BreakerVerdicts            // fleet-wide open-until verdicts; nil: local only
	key      func(*http.Request) string // nil: host and model (hostModel)
}

func defaultBreakerConfig() breakerConfig {
	return breakerConfig{settings: BreakerSettings{}.withDefaults()}
}

// WithBreakerSettings sets the breaker's trip rule, window, break and
// probes; zero fields keep their defaults.
func WithBreakerSettings(s BreakerSettings) Option {
	return func(c *config) { c.breaker.settings = s.withDefaults() }
}

// WithFailFast makes every call an open breaker refuses return a
// *BreakerOpenError at once, instead of waiting for the breaker to let
// traffic through again.
func WithFailFast() Option {
	return func(c *config) { c.breaker.failFast = true }
}

// WithBreakerKey sets how calls are grouped into breakers: calls with the
// same key share one. The default is the request's host and the model its
// body names, so one overloaded model does not stop the others. f must not
// consume req.Body (read a copy from req.GetBody) and must not return
// secrets: the key is recorded in telemetry as sluice.key.
func WithBreakerKey(f func(req *http.Request) string) Option {
	return func(c *config) {
		if f != nil {
			c.breaker.key = f
		}
	}
}
