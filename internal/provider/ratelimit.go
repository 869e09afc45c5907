package provider

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RateLimit is one limit a provider reported in a response's headers.
type RateLimit struct {
	// Limit is the capacity per window; 0 when not reported.
	Limit int64
	// Remaining is what is left; valid when HasRemaining.
	Remaining    int64
	HasRemaining bool
	// Reset is when the limit is fully replenished; zero when not reported.
	Reset time.Time
}

func (r RateLimit) known() bool { return r.Limit > 0 || r.HasRemaining }

// RateLimits are the limits one response reported. Anthropic reports all
// four; OpenAI reports Requests and Tokens.
type RateLimits struct {
	Requests     RateLimit
	Tokens       RateLimit
	InputTokens  RateLimit
	OutputTokens RateLimit
}

// ParseRateLimits reads the rate-limit headers of a response:
//
//   - Anthropic: anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset},
//     resets as RFC 3339 timestamps;
//   - OpenAI: x-ratelimit-{limit,remaining,reset}-{requests,tokens}, resets
//     as Go-style durations ("1s", "6m0s", "12ms") relative to now.
//
// Values that do not parse, and negative ones, are ignored. ok is false when
// h holds no usable rate-limit header at all.
func ParseRateLimits(h http.Header, now time.Time) (rl RateLimits, ok bool) {
	rl = RateLimits{
		Requests:     anthropicLimit(h, &anthropicRequests),
		Tokens:       anthropicLimit(h, &anthropicTokens),
		InputTokens:  anthropicLimit(h, &anthropicInput),
		OutputTokens: anthropicLimit(h, &anthropicOutput),
	}
	if !rl.Requests.known() {
		rl.Requests = openAILimit(h, &openAIRequests, now)
	}
	if !rl.Tokens.known() {
		rl.Tokens = openAILimit(h, &openAITokens, now)
	}
	ok = rl.Requests.known() || rl.Tokens.known() || rl.InputTokens.known() || rl.OutputTokens.known()
	return rl, ok
}

// limitHeaders are the canonical names of one limit's three headers. They
// are computed once: every response is parsed, and building and
// canonicalising 18 header names per response was the costliest part of it.
type limitHeaders struct{ limit, remaining, reset string }

func anthropicHeaders(kind string) limitHeaders {
	p := "anthropic-ratelimit-" + kind + "-"
	return limitHeaders{
		http.CanonicalHeaderKey(p + "limit"),
		http.CanonicalHeaderKey(p + "remaining"),
		http.CanonicalHeaderKey(p + "reset"),
	}
}

func openAIHeaders(kind string) limitHeaders {
	return limitHeaders{
		http.CanonicalHeaderKey("x-ratelimit-limit-" + kind),
		http.CanonicalHeaderKey("x-ratelimit-remaining-" + kind),
		http.CanonicalHeaderKey("x-ratelimit-reset-" + kind),
	}
}

var (
	anthropicRequests = anthropicHeaders("requests")
	anthropicTokens   = anthropicHeaders("tokens")
	anthropicInput    = anthropicHeaders("input-tokens")
	anthropicOutput   = anthropicHeaders("output-tokens")
	openAIRequests    = openAIHeaders("requests")
	openAITokens      = openAIHeaders("tokens")
)

// get is h.Get for a name already in canonical form.
func get(h http.Header, canonical string) string {
	if v := h[canonical]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func anthropicLimit(h http.Header, n *limitHeaders) RateLimit {
	rem := get(h, n.remaining)
	return RateLimit{
		Limit:     parseCount(get(h, n.limit)),
		Remaining: parseCount(rem), HasRemaining: validCount(rem),
		Reset: parseRFC3339(get(h, n.reset)),
	}
}

func openAILimit(h http.Header, n *limitHeaders, now time.Time) RateLimit {
	rem := get(h, n.remaining)
	return RateLimit{
		Limit:     parseCount(get(h, n.limit)),
		Remaining: parseCount(rem), HasRemaining: validCount(rem),
		Reset: parseRelative(get(h, n.reset), now),
	}
}

// maxCount bounds counts so that sums of them cannot overflow.
const maxCount = 1 << 53

func validCount(v string) bool {
	if v == "" {
		return false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	return err == nil && n >= 0 && n < maxCount
}

func parseCount(v string) int64 {
	if v == "" {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 || n >= maxCount {
		return 0
	}
	return n
}

func parseRFC3339(v string) time.Time {
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(v))
	if err != nil {
		return time.Time{}
	}
	return t
}

// parseRelative reads an OpenAI reset: a Go duration, or plain seconds.
func parseRelative(v string, now time.Time) time.Time {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		s, ferr := strconv.ParseFloat(v, 64)
		if ferr != nil || s != s || s > 1e9 {
			return time.Time{}
		}
		d = time.Duration(s * float64(time.Second))
	}
	if d < 0 || d > 1000*time.Hour {
		return time.Time{}
	}
	return now.Add(d)
}
