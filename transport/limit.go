package transport

import (
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/provider"
	"github.com/sluicehq/sluice/internal/reqbody"
	"github.com/sluicehq/sluice/internal/usage"
	"github.com/sluicehq/sluice/limiter"
)

// Limit returns a RoundTripper that keeps requests under the provider's
// limits with a limiter.Limiter, then sends them with next.
//
// For each attempt it reads model, max_tokens and stream from a copy of the
// body (req.GetBody; req.Body is never consumed), acquires under the
// request's key — waiting in the key's queue if it must — and holds a
// concurrency slot until the response body is read to the end or closed:
// streams hold it for minutes. Every response's rate-limit headers are fed
// back to the limiter (it learns the limits), a 429 or 529 with a server
// delay sets the key's cool-down, and a 2xx settles the reservation with the
// usage in the response; any other status gives it back.
//
// The limiter's refusals (local refusals: see the package documentation)
// and the context's error are returned as they are.
//
// A zero LimitSettings builds a limiter of its own, which nothing closes
// (it holds no goroutine); pass one in s.Limiter to close it. A cool-down
// lasts at most 2 minutes, the retry layer's default MaxServerDelay (in
// New, the RetrySettings' MaxServerDelay): a longer delay is not a rate
// limit to wait out.
func Limit(next http.RoundTripper, s LimitSettings, opts ...LayerOption) http.RoundTripper {
	c := newConfig(opts)
	c.limit = s
	l, _ := s.limiter()
	return newLimit(next, c, l)
}

// newLimit is the limit layer over next with the limiter l, for Limit and
// New.
func newLimit(next http.RoundTripper, c *config, l *limiter.Limiter) *limitTransport {
	if next == nil {
		next = http.DefaultTransport
	}
	var key func(*http.Request, reqbody.Fields) string
	if f := c.limit.Key; f != nil {
		key = func(r *http.Request, rf reqbody.Fields) string { return f(r, exportFields(rf)) }
	} else {
		key = newLimitKeys().key
	}
	return &limitTransport{next: next, l: l, key: key, inst: newLimitInstruments(c.tel, l), closed: c.closed,
		maxCooldown: c.retry.config().maxServerDelay}
}

type limitTransport struct {
	next        http.RoundTripper
	l           *limiter.Limiter
	key         func(*http.Request, reqbody.Fields) string // LimitSettings.Key, or limitKeys.key
	inst        *limitInstruments
	closed      <-chan struct{} // Transport.Close; nil: never
	maxCooldown time.Duration   // cooldownUntil's maxDelay: RetrySettings.MaxServerDelay, as in the retry layer
}

// RoundTrip implements http.RoundTripper.
func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := refuseClosed(t.closed, req); err != nil {
		return nil, err
	}
	ctx := req.Context()
	f := requestFields(req) // from the meter's context, or a copy of the body
	key := t.key(req, f)
	kind, api := provider.Detect(req)
	lr := limiter.Request{
		Model: f.Model, InputBytes: f.Size, MaxOutputTokens: f.MaxTokens, Priority: limiter.PriorityFrom(ctx),
		ReportsSend: true, // the WroteRequest hook below
	}
	switch {
	case kind == provider.OpenAI:
		lr.Output = limiter.OutputAtMaxTokens // TPM counts max_tokens at admission
	case f.CacheControl && api == provider.APIMessages && !provider.CountsCacheReads(f.Model):
		lr.Prefixes = requestPrefixes(req, f)
	}
	start := time.Now()
	res, err := t.l.Acquire(ctx, key, lr)
	t.inst.acquired(ctx, key, f.Model, start, res, err)
	if err != nil {
		return nil, err
	}
	if res.WantsSend() {
		// The grant left a bucket near its limit: tell the limiter when
		// the provider can count the request (limiter/transit.go).
		req = req.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			WroteRequest: func(i httptrace.WroteRequestInfo) {
				if i.Err == nil {
					res.Sent()
				}
			},
		}))
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		res.Cancel()
		return nil, err
	}
	t.observe(ctx, key, res, resp)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 && resp.Body != nil {
		b := &settleBody{res: res, kind: kind, model: f.Model}
		b.ReadCloser = usage.NewReader(resp.Body, kind, resp.Header.Get("Content-Type"), b.done)
		resp.Body = b
		return resp, nil
	}
	end := res.Cancel
	if (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == 529) && !hardQuota(resp) {
		end = res.Throttled // a hard quota is no sign of load: AIMD keeps its cap
	}
	if resp.Body == nil {
		end()
		return resp, nil
	}
	resp.Body = &endOnClose{ReadCloser: resp.Body, end: func() { end() }}
	return resp, nil
}

// observe hands the response's rate-limit headers to the limiter (read as
// the provider means them: provider.ParseRateLimits) and starts the key's
// cool-down when the response calls for one (cooldownUntil).
func (t *limitTransport) observe(ctx context.Context, key string, res *limiter.Reservation, resp *http.Response) {
	now := time.Now()
	o, _ := provider.ParseRateLimits(resp.Header, now)
	_ = res.Observe(ctx, o)
	if until, ok := cooldownUntil(resp, resp.StatusCode, now, t.maxCooldown); ok {
		_ = t.l.Cooldown(ctx, key, until)
	}
}

// settleBody is the body of a 2xx attempt as the limit layer hands it up:
// the attempt's body under a usage reader. When the body ends, done settles
// the attempt's reservation with the usage and keeps that usage here, in
// the body it was read from, for the meter above (meterTransport.RoundTrip
// takes it from the body it is given, when that is this one, instead of
// scanning the same bytes again). Being in the body is the tag: a layer
// between that replaces the body hands the meter another body, which the
// meter scans itself, and the usage of a discarded attempt stays with that
// attempt's body.
type settleBody struct {
	io.ReadCloser // the usage reader
	res           *limiter.Reservation
	kind          provider.Kind
	model         string

	mu    sync.Mutex // guards the fields below: done runs in Read or Close
	ended bool
	u     usage.Usage
	err   error
}

// done receives the usage when the body ends; the usage reader calls it
// once.
func (b *settleBody) done(u usage.Usage, err error) {
	b.mu.Lock()
	b.ended, b.u, b.err = true, u, err
	b.mu.Unlock()
	settle(b.res, b.kind, b.model, u, err)
}

// result is the usage the body reported, once it has ended (read to its
// end, failed or closed).
func (b *settleBody) result() (usage.Usage, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.ended {
		return usage.Usage{}, io.ErrUnexpectedEOF
	}
	return b.u, b.err
}

// settle ends a 2xx reservation with the usage the response reported.
// Anthropic's ITPM counts input_tokens and cache_creation_input_tokens, and
// cache reads only for the few models that count them; the estimate is
// calibrated on every input token the body held.
func settle(res *limiter.Reservation, kind provider.Kind, model string, u usage.Usage, err error) {
	if !u.Known || err != nil || u.InputTokens+u.OutputTokens == 0 {
		// No usage, or a stream cut off before its final count: keep the
		// estimate, since the provider charged something.
		res.Release()
		return
	}
	lu := limiter.Spent{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens,
		PromptTokens:    u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens,
		CacheReadTokens: u.CacheReadInputTokens, CacheWriteTokens: u.CacheCreationInputTokens}
	if kind == provider.Anthropic {
		lu.InputTokens += u.CacheCreationInputTokens
		if provider.CountsCacheReads(model) {
			lu.InputTokens += u.CacheReadInputTokens
		}
	}
	_ = res.Settle(lu)
}
