package transport

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel reasons a *RetryError carries; test them with errors.Is.
var (
	// ErrRetriesExhausted: every attempt the layer could make (bounded by
	// RetrySettings.MaxAttempts and MaxElapsedTime) ended in a transport error.
	ErrRetriesExhausted = errors.New("sluice: retries exhausted")
	// ErrRetryBudgetExhausted: the retry budget refused another retry.
	ErrRetryBudgetExhausted = errors.New("sluice: retry budget exhausted")
	// ErrDeadlineTooSoon: the next wait would end after the context's
	// deadline, so the layer did not sleep into a timeout.
	ErrDeadlineTooSoon = errors.New("sluice: wait would exceed the context deadline")
	// ErrWaitInterrupted: the caller's context ended during a wait.
	ErrWaitInterrupted = errors.New("sluice: wait interrupted")
	// ErrAttemptTimeout: one attempt got no response headers within
	// RetrySettings.AttemptTimeout. It is retried; it surfaces inside a *RetryError
	// when it was the last attempt's error.
	ErrAttemptTimeout = errors.New("sluice: attempt timed out")
)

// RetryError is the error the retry layer returns when it has no response
// to give back: every attempt failed before a response, or a wait was cut
// short. It wraps both Reason (one of the Err… sentinels above) and Err,
// the cause — the last attempt's transport error, or the context's error —
// so errors.Is(err, context.DeadlineExceeded) and errors.As(err, &netErr)
// see through it, also through the SDKs' *url.Error.
//
// When the layer does have a response, it never returns a RetryError: it
// returns the provider's last response unchanged (plus x-should-retry:
// false) so the SDK builds its own typed error.
type RetryError struct {
	// Attempts is the number of attempts made.
	Attempts int
	// Reason is the Err… sentinel saying why the layer stopped.
	Reason error
	// Wait is the wait that was refused or interrupted, 0 if none.
	Wait time.Duration
	// Err is the cause.
	Err error
}

// Error describes the error without request content or credentials.
func (e *RetryError) Error() string {
	s := fmt.Sprintf("%v after %d attempt(s)", e.Reason, e.Attempts)
	if e.Wait > 0 {
		s += fmt.Sprintf(" (wait %v)", e.Wait)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns Reason and Err, so errors.Is and errors.As match either.
func (e *RetryError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Reason}
	}
	return []error{e.Reason, e.Err}
}
