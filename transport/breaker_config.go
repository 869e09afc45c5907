package transport

import (
	"net/http"
	"time"
)

// BreakerSettings tune the circuit breaker. A zero field takes its default.
//
// The default trip rule tells an outage from a degraded API: the breaker
// opens on ConsecutiveFailures failed attempts in a row (10), or when at
// least MinRequests (10) attempts in Window (10 s) fail at FailureRatio
// (0.9) or more. A degraded API — 10–35 % of attempts answered 529 or 500,
// which retries ride through — seldom fails 10 times in a row (0.35¹⁰ ≈
// 3·10⁻⁵ per attempt), so the breaker stays closed; a down API fails every
// attempt, so it opens after 10. A success from an attempt sent before the
// current run of failures began does not end the run (it was in flight
// before the API failed). An open breaker lets a probe through after
// Break (1 s); each failed probe doubles the next break, up to MaxBreak
// (10 s), so a short outage is left as soon as it ends and a long one
// costs one probe per MaxBreak. PollyBreakerSettings are the settings of
// Polly's standard resilience handler (10 % of at least 100 calls in 30 s,
// a 5 s break), the defaults of sluice before v0.x.
type BreakerSettings struct {
	// ConsecutiveFailures trips the breaker when that many counted
	// attempts in a row fail, whatever the window holds. Default 10; a
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
	// probe through. Default 1 s. Each failed probe doubles the next
	// break, up to MaxBreak; closing the breaker starts again from Break.
	Break time.Duration
	// MaxBreak bounds the break after failed probes. Default 10 s; a value
	// below Break means Break (every break the same).
	MaxBreak time.Duration
	// Probes is how many calls a half-open breaker lets through; that
	// many successes close it, one failure opens it again. Default 1.
	Probes uint32
}

// Default breaker settings.
const (
	DefaultBreakerConsecutiveFailures = 10
	DefaultBreakerFailureRatio        = 0.9
	DefaultBreakerMinRequests         = 10
	DefaultBreakerWindow              = 10 * time.Second
	DefaultBreakerBreak               = time.Second
	DefaultBreakerMaxBreak            = 10 * time.Second
	DefaultBreakerProbes              = 1
)

// PollyBreakerSettings returns the trip rule of Polly's standard
// resilience handler, sluice's defaults until the consecutive-failure rule:
// open at a 10 % failure ratio once 100 calls are in a 30 s window, no
// consecutive-failure rule. For an LLM API it opens under ordinary
// degradation and needs 100 calls to see an outage (docs/breaker.md).
func PollyBreakerSettings() BreakerSettings {
	return BreakerSettings{ConsecutiveFailures: -1, FailureRatio: 0.1, MinRequests: 100,
		Window: 30 * time.Second, Break: 5 * time.Second, MaxBreak: 5 * time.Second, Probes: 1}
}

// breakFor returns the break after reopens failed probes in a row: Break
// doubled reopens times, at most MaxBreak.
func (s BreakerSettings) breakFor(reopens int) time.Duration {
	d := s.Break
	for range reopens {
		if d >= s.MaxBreak/2 {
			return s.MaxBreak
		}
		d *= 2
	}
	return d
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
	if s.MaxBreak == 0 {
		s.MaxBreak = DefaultBreakerMaxBreak
	}
	s.MaxBreak = max(s.MaxBreak, s.Break)
	if s.Probes == 0 {
		s.Probes = DefaultBreakerProbes
	}
	return s
}

// breakerConfig holds the settings of the breaker layer.
type breakerConfig struct {
	settings BreakerSettings
	failFast bool
	shared   BreakerVerdicts                           // fleet-wide open-until verdicts; nil: local only
	key      func(*http.Request, RequestFields) string // nil: host and model (hostModel)
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
// body names, so one overloaded model does not stop the others. f is
// handed the body's fields, read once per call, as a WithLimitKey function
// is; it must not consume req.Body and must not return secrets: the key is
// recorded in telemetry as sluice.key.
func WithBreakerKey(f func(r *http.Request, body RequestFields) string) Option {
	return func(c *config) {
		if f != nil {
			c.breaker.key = f
		}
	}
}
