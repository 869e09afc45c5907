package llmtest

import (
	"fmt"
	"math"
	"net/http"
	"time"
)

// Provider names, as in quota keys.
const (
	providerAnthropic = "anthropic"
	providerOpenAI    = "openai"
)

// dialect is everything one provider formats its own way: the one place per
// provider that knows its headers, error shapes and bodies.
type dialect interface {
	name() string
	requestIDHeader() string
	// rateHeaders sets the rate-limit headers from the bucket states;
	// exact turns off any rounding the provider applies.
	rateHeaders(h http.Header, states []bucketState, now time.Time, exact bool)
	errorType(status int) string
	errorMessage(status int) string
	errorBody(e apiError, reqID string) []byte
	// streamError is an SSE event carrying e.
	streamError(e apiError, reqID string) []byte
	// limitError is the body of a quota 429.
	limitError(c call, v verdict) apiError
	countTokens(c call) []byte
	// demand is what c takes at admission when it will generate out
	// tokens of which the client is charged used (the fake knows both
	// then); refund is what goes back when the response ends.
	demand(cfg *Config, c call, out, used int) demand
	refund(cfg *Config, c call, reserved demand, used int) demand
	success(x *exchange, out int) rendered
}

// per names a window the way the providers name theirs.
func per(w time.Duration) string {
	if w == time.Minute {
		return "per minute"
	}
	return "per " + w.String()
}

// sseEvent formats one SSE event; name "" gives a data-only event.
func sseEvent(name string, data []byte) []byte {
	var b []byte
	if name != "" {
		b = fmt.Appendf(b, "event: %s\n", name)
	}
	b = append(b, "data: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}

// resetAt is the moment a bucket is full again, rounded up to the second
// because RFC 3339 headers carry whole seconds.
func resetAt(now time.Time, d time.Duration) time.Time {
	t := now.Add(d).UTC()
	if r := t.Truncate(time.Second); r.Before(t) {
		return r.Add(time.Second)
	}
	return t
}

// goDuration formats d like OpenAI's reset headers ("1s", "6m0s", "12ms"):
// Go duration syntax, rounded up to the millisecond.
func goDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	ms := time.Duration(math.Ceil(float64(d) / float64(time.Millisecond)))
	return (ms * time.Millisecond).String()
}
