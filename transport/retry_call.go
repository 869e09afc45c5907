package transport

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/sluicehq/sluice/internal/reqbody"
	"github.com/sluicehq/sluice/limiter"
)

// call is the state of one logical request through the retry layer. It
// lives on RoundTrip's stack; nothing in it is shared.
type call struct {
	t          *retryTransport
	req        *http.Request // what attempts are cloned from
	ctx        context.Context
	start      time.Time
	replayable bool
	getBody    func() (io.ReadCloser, error) // nil: no body
	buffered   []byte                        // the body when the layer buffered it
	nextBody   io.ReadCloser                 // the body of the next attempt
	bo         *backoff.ExponentialBackOff   // created at the first backoff
	key        cooldownKey
	keyDone    bool
}

func (t *retryTransport) newCall(req *http.Request) (call, error) {
	c := call{t: t, req: req, ctx: req.Context(), start: time.Now(), replayable: true}
	switch {
	case req.Body == nil || req.Body == http.NoBody:
	case req.GetBody != nil:
		c.getBody = req.GetBody
	default:
		if err := c.bufferBody(); err != nil {
			return c, err
		}
	}
	return c, nil
}

// bufferBody reads a body without GetBody into memory so it can be
// replayed, up to RetrySettings.MaxReplayBody; a larger body is sent once, as is.
func (c *call) bufferBody() error {
	req, limit := c.req, c.t.cfg.maxReplayBody
	if req.ContentLength > limit {
		c.replayable = false
		return nil
	}
	buf, err := io.ReadAll(io.LimitReader(req.Body, limit+1))
	if err != nil {
		_ = req.Body.Close()
		return err
	}
	r := req.WithContext(req.Context()) // RoundTrip must not modify the caller's request
	if int64(len(buf)) > limit {
		c.replayable = false
		r.Body = &peekedBody{Reader: io.MultiReader(bytes.NewReader(buf), req.Body), orig: req.Body}
		c.req = r
		return nil
	}
	_ = req.Body.Close()
	c.buffered = buf
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf)), nil }
	r.Body, _ = r.GetBody()
	c.getBody, c.req = r.GetBody, r
	return nil
}

// attemptRequest returns the request of attempt n: the caller's own for the
// first, a copy carrying the attempt number and a fresh body after that.
func (c *call) attemptRequest(n int) (*http.Request, error) {
	if n == 0 {
		return c.req, nil
	}
	r := c.req.WithContext(withAttempt(c.ctx, n))
	if c.getBody != nil {
		r.Body, c.nextBody = c.nextBody, nil
	}
	return r, nil
}

// cooldownKey returns the host and model of the request, reading the model
// from the body only the first time it is needed.
func (c *call) cooldownKey() cooldownKey {
	if c.keyDone {
		return c.key
	}
	c.keyDone = true
	c.key.host = c.req.URL.Host
	if c.buffered != nil {
		f, _ := reqbody.Extract(c.buffered) // a body that is not JSON keys by host alone
		c.key.model = f.Model
	} else {
		// The meter's fields from the context, or a fixed-buffer scan of a
		// copy of the body: never the whole body in memory.
		c.key.model = requestFields(c.req).Model
	}
	return c.key
}

// waitCooldown holds attempt n back while its host and model cool down.
func (c *call) waitCooldown(n int) error {
	now := time.Now()
	rem := c.t.cool.remaining(c.cooldownKey(), now)
	if rem <= 0 {
		return nil
	}
	d := c.t.serverJitter(rem)
	if dl, ok := c.ctx.Deadline(); ok && now.Add(d).After(dl) {
		c.closeNextBody()
		c.t.tel.giveUp(c.ctx, giveUpDeadline, "", n)
		return &RetryError{Attempts: n, Reason: ErrDeadlineTooSoon, Wait: d, Err: context.DeadlineExceeded}
	}
	c.t.tel.wait(c.ctx, d, sourceCooldown, "", 0, n)
	return c.sleep(n, d)
}

// prepareRetry decides whether attempt n, retryable by v, is retried. When
// it is, it discards the response, waits, and returns done=false; when it
// is not, it returns what RoundTrip returns.
func (c *call) prepareRetry(n int, resp *http.Response, err error, v verdict) (*http.Response, error, bool) {
	t, now := c.t, time.Now()
	stop := func(why string, wait time.Duration) (*http.Response, error, bool) {
		t.tel.attempt(c.ctx, resp, err, "give_up")
		r, e := c.giveUp(n, resp, err, v, why, wait)
		return r, e, true
	}
	if n+1 >= t.cfg.maxAttempts {
		return stop(giveUpMaxAttempts, 0)
	}
	if !c.replayable {
		return stop(giveUpNotReplayable, 0)
	}
	d, source, fromServer := c.delay(resp, now)
	if fromServer {
		if d > t.cfg.maxServerDelay {
			return stop(giveUpServerDelay, d)
		}
		d = t.serverJitter(d)
	}
	if t.cool != nil && t.cool.active() {
		if rem := t.cool.remaining(c.cooldownKey(), now); rem > d {
			d, source = t.serverJitter(rem), sourceCooldown
		}
	}
	if t.cfg.maxElapsed > 0 && now.Sub(c.start)+d > t.cfg.maxElapsed {
		return stop(giveUpMaxElapsed, d)
	}
	if dl, ok := c.ctx.Deadline(); ok && now.Add(d).After(dl) {
		return stop(giveUpDeadline, d)
	}
	if t.budget != nil && !t.budget.withdraw(now) {
		waited, ok := c.waitBudget(now, d)
		if !ok {
			return stop(giveUpBudget, d+waited)
		}
		t.tel.wait(c.ctx, waited, sourceBudget, v.reason, v.status, n+1)
	}
	if c.getBody != nil {
		body, gerr := c.getBody()
		if gerr != nil {
			return stop(giveUpNotReplayable, 0)
		}
		c.nextBody = body
	}
	t.tel.attempt(c.ctx, resp, err, "retry")
	t.tel.wait(c.ctx, d, source, v.reason, v.status, n+1)
	if resp != nil {
		discard(resp.Body, t.cfg.maxDrainBytes)
	}
	t.log.DebugContext(c.ctx, "sluice: retrying", "attempt", n+1, "reason", v.reason,
		"status", v.status, "delay", d, "source", source)
	if serr := c.sleep(n+1, d); serr != nil {
		c.closeNextBody()
		return nil, serr, true
	}
	return nil, nil, false
}

// waitBudget holds a retry the budget refused until the budget has room,
// within the call's deadline and MaxElapsedTime and at most one budget
// window, d being the retry's own wait still to come. A degraded API that
// needs more retries than the budget allows is slowed down, not failed:
// the bare SDK, which has no budget, would have completed those calls.
// It reports how long it waited and whether the retry may go.
func (c *call) waitBudget(from time.Time, d time.Duration) (time.Duration, bool) {
	t := c.t
	dl, hasDL := c.ctx.Deadline()
	for now := from; ; now = time.Now() {
		step, ok := t.budget.untilRoom(now)
		if !ok || now.Sub(from)+step > t.cfg.budgetWindow {
			return now.Sub(from), false
		}
		end := now.Add(step + d)
		if (t.cfg.maxElapsed > 0 && end.Sub(c.start) > t.cfg.maxElapsed) || (hasDL && end.After(dl)) {
			return now.Sub(from), false
		}
		if c.sleep(0, step) != nil {
			return time.Since(from), false
		}
		if t.budget.withdraw(time.Now()) {
			return time.Since(from), true
		}
	}
}

// delay returns the wait before the next attempt and where it came from;
// fromServer is true when the server named it.
func (c *call) delay(resp *http.Response, now time.Time) (d time.Duration, source string, fromServer bool) {
	if resp != nil {
		if d, src, ok := serverDelay(resp.Header, now); ok {
			if c.bo != nil {
				c.bo.Reset() // the server's word restarts the backoff sequence
			}
			return d, src, true
		}
	}
	if c.bo == nil {
		c.bo = c.t.newBackoff()
	}
	return backoffJitter(c.bo.NextBackOff()), sourceBackoff, false
}

// sleep waits d before attempt n, or until the caller's context ends or
// the Transport closes.
func (c *call) sleep(n int, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-c.ctx.Done():
		return &RetryError{Attempts: n, Reason: ErrWaitInterrupted, Wait: d, Err: c.ctx.Err()}
	case <-c.t.closed:
		return &RetryError{Attempts: n, Reason: ErrWaitInterrupted, Wait: d, Err: limiter.ErrClosed}
	}
}

// giveUp ends a call whose attempt n was retryable. A response is returned
// unchanged but for x-should-retry: false, so the SDK above does not retry
// it again; without a response the layer returns a *RetryError.
func (c *call) giveUp(n int, resp *http.Response, err error, v verdict, why string, wait time.Duration) (*http.Response, error) {
	c.t.tel.giveUp(c.ctx, why, v.reason, n)
	c.t.log.DebugContext(c.ctx, "sluice: giving up", "attempt", n, "why", why, "reason", v.reason, "status", v.status)
	if resp != nil {
		if resp.Header == nil {
			resp.Header = make(http.Header)
		}
		resp.Header.Set(headerShouldRetry, "false")
		if why == giveUpHardLimit {
			resp.Header.Set(HeaderHardQuota, "true")
		}
		return resp, nil
	}
	reason := ErrRetriesExhausted
	switch why {
	case giveUpBudget:
		reason = ErrRetryBudgetExhausted
	case giveUpDeadline:
		reason = ErrDeadlineTooSoon
	}
	return nil, &RetryError{Attempts: n + 1, Reason: reason, Wait: wait, Err: err}
}

func (c *call) closeNextBody() {
	if c.nextBody != nil {
		_ = c.nextBody.Close()
		c.nextBody = nil
	}
}

// noteCooldown starts the shared cool-down when attempt's response calls
// for one (cooldownUntil), whether or not this call retries it.
func (c *call) noteCooldown(resp *http.Response, v verdict) {
	if resp == nil {
		return
	}
	status := v.status
	if status == 0 {
		status = resp.StatusCode
	}
	if until, ok := cooldownUntil(resp, status, time.Now(), c.t.cfg.maxServerDelay); ok {
		c.t.cool.extend(c.cooldownKey(), until)
	}
}
