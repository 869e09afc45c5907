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
	anth := func(kind string) RateLimit {
		p := "anthropic-ratelimit-" + kind + "-"
		return RateLimit{
			Limit:     parseCount(h.Get(p + "limit")),
			Remaining: parseCount(h.Get(p + "remaining")), HasRemaining: validCount(h.Get(p + "remaining")),
			Reset: parseRFC3339(h.Get(p + "reset")),
		}
	}
	oai := func(kind string) RateLimit {
		return RateLimit{
			Limit:     parseCount(h.Get("x-ratelimit-limit-" + kind)),
			Remaining: parseCount(h.Get("x-ratelimit-remaining-" + kind)), HasRemaining: validCount(h.Get("x-ratelimit-remaining-" + kind)),
			Reset: parseRelative(h.Get("x-ratelimit-reset-"+kind), now),
		}
	}
	rl = RateLimits{
		Requests:     anth("requests"),
		Tokens:       anth("tokens"),
		InputTokens:  anth("input-tokens"),
		OutputTokens: anth("output-tokens"),
	}
	if !rl.Requests.known() {
		rl.Requests = oai("requests")
	}
	if !rl.Tokens.known() {
		rl.Tokens = oai("tokens")
	}
	ok = rl.Requests.known() || rl.Tokens.known() || rl.InputTokens.known() || rl.OutputTokens.known()
	return rl, ok
}

// maxCount bounds counts so that sums of them cannot overflow.
const maxCount = 1 << 53

func validCount(v string) bool {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	return err == nil && n >= 0 && n < maxCount
}

func parseCount(v string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 || n >= maxCount {
		return 0
	}
	return n
}

func parseRFC3339(v string) time.Time {
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
