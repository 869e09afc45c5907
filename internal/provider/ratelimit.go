package provider

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/limiter"
)

// anthropicRounding is the unit Anthropic rounds its remaining token
// counts to: the nearest thousand (rate-limit docs, 2026).
const anthropicRounding = 1000

// ParseRateLimits reads the rate-limit headers of a response as the
// limiter's readings, one per kind:
//
//   - Anthropic: anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset},
//     resets as RFC 3339 timestamps. Its remaining token counts are rounded
//     to the nearest thousand (Reading.Rounding), and its tokens-* headers
//     show the most restrictive limit in effect, not a bucket of their own:
//     they are dropped when input or output limits are reported, so that
//     they never bind before those do.
//   - OpenAI: x-ratelimit-{limit,remaining,reset}-{requests,tokens}, resets
//     as Go-style durations ("1s", "6m0s", "12ms") relative to now; exact.
//
// Values that do not parse, and negative ones, are ignored. ok is false when
// h holds no usable rate-limit header at all.
func ParseRateLimits(h http.Header, now time.Time) (o limiter.Observation, ok bool) {
	var last lastReset // Anthropic's four resets are often one instant
	o[limiter.Requests] = anthropicLimit(h, &anthropicRequests, &last)
	o[limiter.Tokens] = anthropicLimit(h, &anthropicTokens, &last)
	o[limiter.InputTokens] = anthropicLimit(h, &anthropicInput, &last)
	o[limiter.OutputTokens] = anthropicLimit(h, &anthropicOutput, &last)
	if !o.Empty() {
		for _, k := range [...]limiter.Kind{limiter.InputTokens, limiter.OutputTokens, limiter.Tokens} {
			if known(o[k]) {
				o[k].Rounding = anthropicRounding
			}
		}
		if o[limiter.InputTokens].Limit > 0 || o[limiter.OutputTokens].Limit > 0 {
			o[limiter.Tokens] = limiter.Reading{}
		}
		return o, true
	}
	o[limiter.Requests] = openAILimit(h, &openAIRequests, now)
	o[limiter.Tokens] = openAILimit(h, &openAITokens, now)
	return o, !o.Empty()
}

func known(r limiter.Reading) bool { return r.Limit > 0 || r.HasRemaining }

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

func anthropicLimit(h http.Header, n *limitHeaders, last *lastReset) limiter.Reading {
	rem, ok := count(get(h, n.remaining))
	lim, _ := count(get(h, n.limit))
	return limiter.Reading{Limit: lim, Remaining: rem, HasRemaining: ok, Reset: last.parse(get(h, n.reset))}
}

func openAILimit(h http.Header, n *limitHeaders, now time.Time) limiter.Reading {
	rem, ok := count(get(h, n.remaining))
	lim, _ := count(get(h, n.limit))
	return limiter.Reading{Limit: lim, Remaining: rem, HasRemaining: ok, Reset: parseRelative(get(h, n.reset), now)}
}

// maxCount bounds counts so that sums of them cannot overflow.
const maxCount = 1 << 53

// count parses a count: a decimal integer in [0, maxCount), spaces around
// it allowed. ok is false, and n 0, for anything else.
//
// Every response carries up to eight counts, so plain digits — what the
// providers send — are read directly; anything else (spaces, a sign,
// garbage) goes through strconv.ParseInt as it always did. 16 digits
// cannot overflow an int64, and maxCount has 16.
func count(v string) (n int64, ok bool) {
	if len(v) == 0 {
		return 0, false
	}
	if len(v) > 16 {
		return countSlow(v)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return countSlow(v)
		}
		n = n*10 + int64(c-'0')
	}
	if n >= maxCount {
		return 0, false
	}
	return n, true
}

func countSlow(v string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 || n >= maxCount {
		return 0, false
	}
	return n, true
}

// lastReset remembers the last reset parsed from one response's headers.
type lastReset struct {
	v string
	t time.Time
}

// parse is parseRFC3339(v), without parsing again the value just parsed.
func (l *lastReset) parse(v string) time.Time {
	if v == "" {
		return time.Time{}
	}
	if v != l.v {
		l.v, l.t = v, parseRFC3339(v)
	}
	return l.t
}

func parseRFC3339(v string) time.Time {
	if v == "" {
		return time.Time{}
	}
	if t, ok := parseUTCSeconds(v); ok {
		return t
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(v))
	if err != nil {
		return time.Time{}
	}
	return t
}

// parseUTCSeconds reads the form Anthropic sends, "2006-01-02T15:04:05Z",
// at a fifth of time.Parse's cost; ok is false for any other form, and for
// out-of-range fields, which then get time.Parse's verdict.
func parseUTCSeconds(v string) (time.Time, bool) {
	if len(v) != 20 || v[4] != '-' || v[7] != '-' || v[10] != 'T' || v[13] != ':' || v[16] != ':' || v[19] != 'Z' {
		return time.Time{}, false
	}
	year, ok1 := digits(v[0:4])
	month, ok2 := digits(v[5:7])
	day, ok3 := digits(v[8:10])
	hour, ok4 := digits(v[11:13])
	minute, ok5 := digits(v[14:16])
	sec, ok6 := digits(v[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || year == 0 || month < 1 || month > 12 || day < 1 ||
		hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC)
	if t.Day() != day { // 31 April, 29 February of a common year
		return time.Time{}, false
	}
	return t, true
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
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
