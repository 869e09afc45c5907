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

	// FailFast makes every call an open breaker refuses return a
	// *BreakerOpenError at once, instead of waiting for the breaker to let
	// traffic through again.
	FailFast bool
	// Key groups calls into breakers: calls with the same key share one.
	// Default: the request's host and the model its body names, so one
	// overloaded model does not stop the others. Key is handed the body's
	// fields, read once per call, as LimitSettings.Key is; it must not
	// consume r.Body and must not return secrets: the key is recorded in
	// telemetry as sluice.key.
	Key func(r *http.Request, body RequestFields) string
	// Shared, when set, shares the breakers' open verdicts between
	// processes (see BreakerVerdicts): a breaker that opens publishes its
	// retry time, and a call whose key another process has opened waits
	// for that time — or, with FailFast or a deadline that ends first, is
	// refused with a *BreakerOpenError — before the local breaker is
	// asked. At the end of the verdict the calls go ahead; the process
	// whose breaker opened sends the probe, and a failed probe publishes a
	// new verdict. Default nil: verdicts stay in the process.
	Shared BreakerVerdicts
}

// Default breaker settings.
const (
	defaultBreakerConsecutiveFailures = 10
	defaultBreakerFailureRatio        = 0.9
	defaultBreakerMinRequests         = 10
	defaultBreakerWindow              = 10 * time.Second
	defaultBreakerBreak               = time.Second
	defaultBreakerMaxBreak            = 10 * time.Second
	defaultBreakerProbes              = 1
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
		s.ConsecutiveFailures = defaultBreakerConsecutiveFailures
	}
	if s.FailureRatio <= 0 {
		s.FailureRatio = defaultBreakerFailureRatio
	}
	s.FailureRatio = min(s.FailureRatio, 1)
	if s.MinRequests == 0 {
		s.MinRequests = defaultBreakerMinRequests
	}
	if s.Window <= 0 {
		s.Window = defaultBreakerWindow
	}
	if s.Break <= 0 {
		s.Break = defaultBreakerBreak
	}
	if s.MaxBreak == 0 {
		s.MaxBreak = defaultBreakerMaxBreak
	}
	s.MaxBreak = max(s.MaxBreak, s.Break)
	if s.Probes == 0 {
		s.Probes = defaultBreakerProbes
	}
	return s
}
