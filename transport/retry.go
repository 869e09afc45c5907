package transport

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// Give-up reasons (telemetry.AttrRetryGiveUp).
const (
	giveUpMaxAttempts   = "max_attempts"
	giveUpMaxElapsed    = "max_elapsed"
	giveUpDeadline      = "deadline"
	giveUpServerDelay   = "server_delay_too_long"
	giveUpBudget        = "budget"
	giveUpNotReplayable = "not_replayable"
	giveUpHardLimit     = "hard_limit"
)

// headerShouldRetry is the header both SDKs obey over their status rule.
const headerShouldRetry = "X-Should-Retry"

// Retry returns the retry layer: an http.RoundTripper that sends each
// request through next and repeats it when, and only when, that is safe and
// useful.
//
// What is retried: 408, 409, 429, 500, 502, 503, 504 and 529 responses,
// a 200 text/event-stream whose first event is an overloaded_error or
// rate_limit_error (the SDKs never retry those), and transport errors that
// happened before a response. x-should-retry: true|false from the server
// overrides the status rule, as in the providers' SDKs, except that 400,
// 401, 403, 404, 413 and 422 are never retried. Not retried either: a 429
// that reports a hard limit (spend limit, insufficient_quota, "Request too
// large", or the server's x-should-retry: false: a hard quota, see
// IsHardQuota), a request whose context is done, a request whose body cannot
// be replayed (see RetrySettings.MaxReplayBody), and a local refusal from a layer
// below (see the package documentation), which is returned at once.
//
// How long it waits: the server's word first — retry-after-ms, then
// Retry-After in seconds or as an HTTP-date — plus an upward-only jitter;
// otherwise exponential backoff, each wait drawn in [step/2, step]. A
// server delay above s.MaxServerDelay, a wait that would end after the
// context's deadline or s.MaxElapsedTime, the last of s.MaxAttempts, or a
// retry the budget refuses all end the call at once with the last
// response. A cancelled context interrupts a wait immediately. The
// RetrySettings fields say each default.
//
// Shared cool-down: a 429 or 529 with a server delay makes every other
// request through this layer to the same host and model wait until that
// moment. New leaves the cool-down to its limit layer, which keeps it per
// API key and model.
//
// What it returns: the provider's final response, unchanged but for
// x-should-retry: false when the layer gave up on a retryable one; a
// *RetryError when there is none (all attempts failed in transport, or a
// wait was cut).
//
// Every discarded response body is drained (bounded) and closed. Each
// attempt after the first carries its number in the request context for
// the Attempt layer (http.request.resend_count). A nil next means
// http.DefaultTransport.
func Retry(next http.RoundTripper, s RetrySettings, opts ...LayerOption) http.RoundTripper {
	c := newConfig(opts)
	c.retry = s
	return newRetry(next, c, true)
}

// newRetry is the retry layer over next, for Retry and New; cooldown says
// whether it keeps its own cool-down (New leaves it to the limit layer).
func newRetry(next http.RoundTripper, c *config, cooldown bool) *retryTransport {
	if next == nil {
		next = http.DefaultTransport
	}
	rc := c.retry.config()
	rc.cooldown = cooldown
	t := &retryTransport{next: next, cfg: rc, tel: newRetryTelemetry(c.tel), log: c.logger, closed: c.closed}
	if rc.budget {
		t.budget = newRetryBudget(rc.budgetRatio, rc.budgetMinPerS, rc.budgetWindow)
	}
	if rc.cooldown {
		t.cool = newCooldown()
	}
	return t
}

type retryTransport struct {
	next   http.RoundTripper
	cfg    retryConfig
	budget *retryBudget // nil: no budget
	cool   *cooldown    // nil: no cool-down
	tel    retryTelemetry
	log    *slog.Logger
	closed <-chan struct{} // Transport.Close; nil: never
}

// RoundTrip implements http.RoundTripper.
func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := refuseClosed(t.closed, req); err != nil {
		return nil, err
	}
	c, err := t.newCall(req)
	if err != nil {
		return nil, err
	}
	if t.budget != nil {
		t.budget.deposit(c.start)
	}
	for n := 0; ; n++ {
		if t.cool != nil && t.cool.active() {
			if err := c.waitCooldown(n); err != nil {
				return nil, err
			}
		}
		areq, err := c.attemptRequest(n)
		if err != nil {
			return nil, err
		}
		resp, err := t.send(areq)
		v := t.classify(c.ctx, resp, err)
		if t.cool != nil && resp != nil && (resp.StatusCode != http.StatusOK || v.status != 0) {
			c.noteCooldown(resp, v)
		}
		if !v.retry {
			return t.finish(&c, n, resp, err, v)
		}
		if resp, err, done := c.prepareRetry(n, resp, err, v); done {
			return resp, err
		}
	}
}

// verdict is what classify made of one attempt.
type verdict struct {
	retry    bool
	reason   string // why it is retryable
	status   int    // the status it counts as (a stream error counts as 429/529)
	giveUpAs string // set when the layer refuses a retryable response at once
}

// classify decides whether an attempt's outcome is retryable.
func (t *retryTransport) classify(ctx context.Context, resp *http.Response, err error) verdict {
	if err != nil {
		return verdict{retry: retryableErr(ctx, err), reason: reasonTransport}
	}
	status := resp.StatusCode
	if status == http.StatusOK {
		if resp.Body == nil || resp.Body == http.NoBody || !isEventStream(resp) {
			return verdict{}
		}
		return t.classifyStream(resp)
	}
	if neverRetry(status) {
		return verdict{}
	}
	reason := statusReason(status)
	switch resp.Header.Get(headerShouldRetry) {
	case "false":
		if status == http.StatusTooManyRequests {
			// A quota the server says waiting will not fix: a hard quota.
			return verdict{reason: reason, status: status, giveUpAs: giveUpHardLimit}
		}
		return verdict{}
	case "true":
		if reason == "" {
			reason = reasonShouldRetry
		}
	default:
		if reason == "" {
			return verdict{}
		}
	}
	if status == http.StatusTooManyRequests && resp.Body != nil &&
		isHardLimit(peekBody(resp, t.cfg.maxPeekBytes, nil)) {
		return verdict{reason: reason, status: status, giveUpAs: giveUpHardLimit}
	}
	return verdict{retry: true, reason: reason, status: status}
}

// classifyStream peeks at the first event of a 200 event stream.
func (t *retryTransport) classifyStream(resp *http.Response) verdict {
	var v sseVerdict
	peekBody(resp, t.cfg.maxPeekBytes, func(b []byte) bool {
		v = firstEvent(b)
		return v != sseUndecided
	})
	switch v {
	case sseOverloaded:
		return verdict{retry: true, reason: reasonStream, status: 529}
	case sseRateLimited:
		return verdict{retry: true, reason: reasonStream, status: http.StatusTooManyRequests}
	}
	return verdict{}
}

// finish returns an attempt the layer does not retry.
func (t *retryTransport) finish(c *call, n int, resp *http.Response, err error, v verdict) (*http.Response, error) {
	if v.giveUpAs != "" {
		t.tel.attempt(c.ctx, resp, err, "give_up")
		return c.giveUp(n, resp, err, v, v.giveUpAs, 0)
	}
	t.tel.attempt(c.ctx, resp, err, "done")
	return resp, err
}

// send makes one attempt, bounded by RetrySettings.AttemptTimeout when set.
func (t *retryTransport) send(req *http.Request) (*http.Response, error) {
	if t.cfg.attemptTimeout <= 0 {
		return t.next.RoundTrip(req)
	}
	return sendWithTimeout(t.next, req, t.cfg.attemptTimeout)
}

// serverJitter returns d plus the upward jitter for a server-given delay.
func (t *retryTransport) serverJitter(d time.Duration) time.Duration {
	j := min(time.Duration(float64(d)*t.cfg.serverJitter), t.cfg.maxServerJitter)
	if j <= 0 {
		return d
	}
	return d + rand.N(j+1)
}

// backoffJitter randomises a backoff step b downward, uniformly in
// [b/2, b]: "equal jitter". Waits never exceed the nominal sequence, so a
// call that meets several transient failures in a row (the tail of a
// degraded API) is not held up to 1.5× longer, as ±50 % would, while
// callers that failed together still spread over half the step.
func backoffJitter(b time.Duration) time.Duration {
	if b <= 1 {
		return b
	}
	return b - rand.N(b/2+1)
}

// newBackoff returns the backoff of one logical call.
func (t *retryTransport) newBackoff() *backoff.ExponentialBackOff {
	return backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(t.cfg.initial),
		backoff.WithMaxInterval(t.cfg.maxInterval),
		backoff.WithMultiplier(2),
		backoff.WithRandomizationFactor(0), // jittered downward by the call (backoffJitter)
		backoff.WithMaxElapsedTime(0),      // the layer bounds elapsed time itself
	)
}
