package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/limiter"
	"github.com/sluicehq/sluice/transport"
)

// Provider is the API family a route belongs to; it decides the shape of
// the errors the proxy writes itself.
type Provider uint8

// The providers the proxy fronts.
const (
	Anthropic Provider = iota
	OpenAI
)

// String returns "anthropic" or "openai".
func (p Provider) String() string {
	if p == OpenAI {
		return "openai"
	}
	return "anthropic"
}

// guessProvider picks the error shape for a path the proxy does not route:
// OpenAI's when the client authenticates the OpenAI way, else Anthropic's.
func guessProvider(r *http.Request) Provider {
	if r.Header.Get("x-api-key") == "" && r.Header.Get("anthropic-version") == "" &&
		strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		return OpenAI
	}
	return Anthropic
}

// HeaderRefusal names, on a response the proxy wrote itself, why it
// refused the call (queue_full, deadline, capacity, breaker_open, closed,
// upstream_unreachable, timeout, too_large, not_found); it is absent on
// every response that came from the provider.
const HeaderRefusal = "Sluice-Refusal"

// refusal is an error response the proxy writes itself.
type refusal struct {
	status      int
	reason      string        // HeaderRefusal
	message     string        // no request content, no credentials
	retryAfter  time.Duration // 0: no retry-after header
	shouldRetry bool          // x-should-retry
	// errType overrides the provider's error type for the status.
	errType string
}

// refusalOf maps an error the stack returned without a response to what the
// client sees; docs/proxy.md has the table. ctx is the call's context.
func refusalOf(ctx context.Context, err error) refusal {
	var (
		boe *transport.BreakerOpenError
		we  *limiter.WaitError
		ce  *limiter.CapacityError
	)
	switch {
	case errors.Is(err, context.Canceled) && ctx.Err() != nil && !errors.Is(causeOf(ctx), errHeaderDeadline):
		// The client went away; nobody reads this.
		return refusal{status: 499, reason: "canceled", message: "client closed the request"}
	case errors.Is(err, limiter.ErrQueueFull):
		return refusal{status: http.StatusTooManyRequests, reason: "queue_full", errType: "rate_limit_error",
			message: "sluice: too many calls are waiting for this API key and model", retryAfter: time.Second, shouldRetry: true}
	case errors.As(err, &we):
		return refusal{status: http.StatusTooManyRequests, reason: "deadline", errType: "rate_limit_error",
			message: "sluice: the rate limit would hold this call longer than its timeout", retryAfter: we.Wait}
	case errors.As(err, &ce):
		return refusal{status: http.StatusTooManyRequests, reason: "capacity", errType: "rate_limit_error",
			message: "sluice: request too large for the tokens-per-minute limit: " + ce.Error()}
	case errors.As(err, &boe) && boe.Reason != "canceled":
		wait := max(time.Until(boe.RetryAt), time.Second)
		return refusal{status: http.StatusServiceUnavailable, reason: "breaker_open",
			message: "sluice: the upstream is failing; circuit breaker open (" + boe.Reason + ")", retryAfter: wait, shouldRetry: boe.Reason == "fail_fast"}
	case errors.Is(err, limiter.ErrClosed):
		return refusal{status: http.StatusServiceUnavailable, reason: "closed",
			message: "sluice: the proxy is shutting down", retryAfter: time.Second, shouldRetry: true}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, transport.ErrDeadlineTooSoon),
		errors.Is(causeOf(ctx), errHeaderDeadline):
		return refusal{status: http.StatusGatewayTimeout, reason: "timeout",
			message: "sluice: no answer from the upstream within the call's timeout"}
	}
	return refusal{status: http.StatusBadGateway, reason: "upstream_unreachable",
		message: "sluice: the upstream could not be reached: " + errorClass(err)}
}

// errorClass names a transport error without its text, which may hold a
// URL; the proxy's own URLs hold no credentials, but the log line should
// not depend on that.
func errorClass(err error) string {
	var re *transport.RetryError
	if errors.As(err, &re) {
		return re.Reason.Error() + " after " + strconv.Itoa(re.Attempts) + " attempt(s)"
	}
	return "transport error"
}

// write sends r in p's error shape.
func (r refusal) write(w http.ResponseWriter, p Provider) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set(HeaderRefusal, r.reason)
	h.Set("x-should-retry", strconv.FormatBool(r.shouldRetry))
	if r.retryAfter > 0 {
		secs := int64(math.Ceil(r.retryAfter.Seconds()))
		h.Set("retry-after", strconv.FormatInt(max(secs, 1), 10))
		h.Set("retry-after-ms", strconv.FormatInt(max(r.retryAfter.Milliseconds(), 1), 10))
	}
	w.WriteHeader(r.status)
	if r.status == 499 {
		return
	}
	_ = json.NewEncoder(w).Encode(errorBody(p, r.status, r.errType, r.message))
}

// errorBody is p's documented error JSON (Anthropic: {"type":"error",
// "error":{"type","message"}}; OpenAI: {"error":{"message","type","param",
// "code"}}), which the SDKs parse into their error types.
func errorBody(p Provider, status int, errType, msg string) any {
	if p == OpenAI {
		typ, code := openAIType(status)
		return map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": code}}
	}
	if errType == "" {
		errType = anthropicType(status)
	}
	return map[string]any{"type": "error", "error": map[string]any{"type": errType, "message": msg}}
}

func anthropicType(status int) string {
	switch status {
	case 400:
		return "invalid_request_error"
	case 401:
		return "authentication_error"
	case 403:
		return "permission_error"
	case 404:
		return "not_found_error"
	case 413:
		return "request_too_large"
	case 429:
		return "rate_limit_error"
	case 529, 503:
		return "overloaded_error"
	}
	return "api_error"
}

func openAIType(status int) (typ string, code any) {
	switch status {
	case 404:
		return "invalid_request_error", "unknown_url"
	case 413:
		return "invalid_request_error", "request_too_large"
	case 429:
		return "requests", "rate_limit_exceeded"
	}
	if status >= 500 {
		return "server_error", nil
	}
	return "invalid_request_error", nil
}
