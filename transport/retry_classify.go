package transport

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// Retry reasons (telemetry.AttrRetryReason).
const (
	reasonRateLimited = "rate_limited"
	reasonOverloaded  = "overloaded"
	reasonServerError = "server_error"
	reasonTimeout     = "timeout"
	reasonConflict    = "conflict"
	reasonShouldRetry = "should_retry"
	reasonStream      = "stream_error"
	reasonTransport   = "transport_error"
)

// statusReason returns why status is retryable by the status rule, or ""
// when it is not: the providers' SDKs retry 408, 409, 429 and ≥500; sluice
// keeps to the statuses the providers document as transient.
func statusReason(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return reasonRateLimited
	case 529: // Anthropic: overloaded
		return reasonOverloaded
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return reasonServerError
	case http.StatusRequestTimeout:
		return reasonTimeout
	case http.StatusConflict:
		return reasonConflict
	}
	return ""
}

// neverRetry reports statuses no header can make retryable: the request
// itself is wrong, unauthorised or too large, and sending it again cannot
// succeed.
func neverRetry(status int) bool {
	switch status {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden,
		http.StatusNotFound, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return true
	}
	return false
}

// errorBody is the error object both providers send, as a JSON body or an
// SSE error event:
//
//	Anthropic: {"type":"error","error":{"type":"rate_limit_error","message":"…",
//	            "details":{"error_code":"enforced_spend_limit_reached"}}}
//	OpenAI:    {"error":{"message":"…","type":"insufficient_quota","code":"insufficient_quota"}}
type errorBody struct {
	Error *struct {
		Type    string `json:"type"`
		Code    any    `json:"code"` // OpenAI: string or null
		Message string `json:"message"`
		Details *struct {
			ErrorCode string `json:"error_code"`
		} `json:"details"`
	} `json:"error"`
}

// hardLimitCodes are error codes of 429s that waiting cannot fix: a spend
// or quota limit (Anthropic error.details.error_code, OpenAI error.code and
// error.type).
var hardLimitCodes = []string{"enforced_spend_limit_reached", "contract_spend_limit_reached", "insufficient_quota"}

// hardLimit reports whether the error is a hard limit: a spend/quota limit,
// or OpenAI's "Request too large", where the request alone exceeds the
// tokens-per-minute limit and so can never succeed.
func (e *errorBody) hardLimit() bool {
	if e.Error == nil {
		return false
	}
	code, _ := e.Error.Code.(string)
	for _, c := range hardLimitCodes {
		if code == c || e.Error.Type == c || (e.Error.Details != nil && e.Error.Details.ErrorCode == c) {
			return true
		}
	}
	return strings.HasPrefix(e.Error.Message, "Request too large")
}

// isHardLimit reads a bounded prefix of a 429's body. A body that does not
// fit the bound, or is not JSON, is searched for the codes as text.
func isHardLimit(body []byte) bool {
	var e errorBody
	if json.Unmarshal(body, &e) == nil {
		return e.hardLimit()
	}
	for _, c := range hardLimitCodes {
		if bytes.Contains(body, []byte(c)) {
			return true
		}
	}
	return bytes.Contains(body, []byte(`"Request too large`))
}

// retryableErr reports whether err, returned by the layers below with no
// response, is worth another attempt. Connection refused/reset, EOF before
// the headers and per-attempt timeouts are; a done caller context, and
// certificate errors (which the next attempt would hit again) are not.
func retryableErr(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var (
		unknownCA *x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalid), errors.As(err, &verify):
		return false
	case localRefusal(err):
		return false // refused before the network: final (refusal.go)
	}
	return true
}
