package transport

import (
	"errors"
	"fmt"
	"time"
)

// ErrBreakerOpen is the condition of a call refused by an open circuit
// breaker; every *BreakerOpenError wraps it.
var ErrBreakerOpen = errors.New("sluice: circuit breaker open")

// BreakerOpenError is returned by the breaker layer for a call it refused:
// nothing was sent. It wraps ErrBreakerOpen and, when the call gave up
// waiting because its context ended, that context's error. Through an SDK
// it arrives inside a *url.Error; errors.As finds it.
type BreakerOpenError struct {
	// Key names the breaker (see BreakerSettings.Key).
	Key string
	// RetryAt is when the breaker lets its next probe through; in the
	// past while a probe is already in flight.
	RetryAt time.Time
	// Reason is "fail_fast", "deadline" or "canceled" (see
	// telemetry.AttrBreakerReason).
	Reason string
	// Err is the context error that ended a wait, or nil.
	Err error
}

func (e *BreakerOpenError) Error() string {
	msg := fmt.Sprintf("sluice: circuit breaker %q open (%s); next probe at %s",
		e.Key, e.Reason, e.RetryAt.Format(time.RFC3339Nano))
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns ErrBreakerOpen and the cause, if any.
func (e *BreakerOpenError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrBreakerOpen}
	}
	return []error{ErrBreakerOpen, e.Err}
}
