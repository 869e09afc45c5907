package transport

import (
	"context"
	"log/slog"
	"net/http"
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
// Acquire errors are returned as they are: limiter.ErrQueueFull,
// *limiter.CapacityError, *limiter.WaitError (which matches
// context.DeadlineExceeded), limiter.ErrClosed, or the context's error.
func Limit(next http.RoundTripper, opts ...Option) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	c := newConfig(opts)
	l := c.limit.limiter
	if l == nil {
		lopts := append([]limiter.Option{limiter.WithUtilizationHook(0, utilizationLogger(c.logger))}, c.limit.opts...)
		l = limiter.New(lopts...)
	}
	key := c.limit.key
	if key == nil {
		key = newLimitKeys().key
	}
	return &limitTransport{next: next, l: l, key: key, inst: newLimitInstruments(c.tel, l),
		maxCooldown: c.retry.maxServerDelay}
}

type limitTransport struct {
	next http.RoundTripper
	l    *limiter.Limiter
	key  func(*http.Request, reqbody.Fields) string // WithLimitKey, or limitKeys.key
	inst *limitInstruments
	// maxCooldown is the longest server delay that starts a cool-down
	// (WithMaxServerDelay), as in the retry layer: a longer one is a hard
	// limit or a hostile header, and must not shut the key for years.
	maxCooldown time.Duration
}

func utilizationLogger(log *slog.Logger) func(string, limiter.Kind, float64) {
	return func(key string, k limiter.Kind, u float64) {
		log.Info("sluice: limiter utilization crossed threshold", "key", key, "kind", k.String(), "utilization", u)
	}
}

// RoundTrip implements http.RoundTripper.
func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	f := requestFields(req) // from the meter's context, or a copy of the body
	key := t.key(req, f)
	kind, api := provider.Detect(req)
	lr := limiter.Request{
		Model: f.Model, InputBytes: f.Size, MaxOutputTokens: f.MaxTokens, Priority: limiter.PriorityFrom(ctx),
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
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		res.Cancel()
		return nil, err
	}
	t.observe(ctx, key, kind, res, resp)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 && resp.Body != nil {
		cs := callFrom(ctx)
		if cs != nil {
			cs.willTap() // the meter above reads the usage from here
		}
		resp.Body = usage.NewReader(resp.Body, kind, resp.Header.Get("Content-Type"), func(u usage.Usage, err error) {
			if cs != nil {
				cs.publish(u, err)
			}
			settle(res, kind, f.Model, u, err)
		})
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

// observe hands the response's rate-limit headers to the limiter and starts
// a cool-down when a 429 or 529 names a server delay.
//
// Anthropic rounds its remaining token counts to the nearest thousand, and
// its tokens-* headers show the most restrictive limit in effect, not a
// bucket of their own: they are dropped when input and output limits are
// reported, so they never bind before those do.
func (t *limitTransport) observe(ctx context.Context, key string, kind provider.Kind, res *limiter.Reservation, resp *http.Response) {
	now := time.Now()
	var o limiter.Observation
	if rl, ok := provider.ParseRateLimits(resp.Header, now); ok {
		o[limiter.Requests] = reading(rl.Requests)
		o[limiter.InputTokens] = reading(rl.InputTokens)
		o[limiter.OutputTokens] = reading(rl.OutputTokens)
		o[limiter.Tokens] = reading(rl.Tokens)
		if kind == provider.Anthropic {
			for _, k := range [...]limiter.Kind{limiter.InputTokens, limiter.OutputTokens, limiter.Tokens} {
				o[k].Rounding = 1000
			}
			if rl.InputTokens.Limit > 0 || rl.OutputTokens.Limit > 0 {
				o[limiter.Tokens] = limiter.Reading{}
			}
		}
	}
	_ = res.Observe(ctx, o)
	if (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == 529) && !hardQuota(resp) {
		if d, _, ok := serverDelay(resp.Header, now); ok && d > 0 && d <= t.maxCooldown {
			_ = t.l.Cooldown(ctx, key, now.Add(d))
		}
	}
}

func reading(r provider.RateLimit) limiter.Reading {
	return limiter.Reading{Limit: r.Limit, Remaining: r.Remaining, HasRemaining: r.HasRemaining, Reset: r.Reset}
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
	lu := limiter.Usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens,
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
