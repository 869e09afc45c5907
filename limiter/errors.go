package limiter

import (
	"context"
	"errors"
	"fmt"
	"time"
)

var (
	// ErrQueueFull is returned by Acquire when the key's queue already
	// holds the maximum number of waiters (WithMaxQueue).
	ErrQueueFull = errors.New("limiter: queue full")
	// ErrClosed is returned by Acquire after Close, and to every waiter
	// Close releases.
	ErrClosed = errors.New("limiter: closed")
	// ErrExceedsCapacity reports a request larger than a bucket can ever
	// hold; it fails at once instead of waiting forever. Errors wrapping it
	// are *CapacityError.
	ErrExceedsCapacity = errors.New("limiter: request exceeds bucket capacity")
	// ErrWouldExceedDeadline reports that the estimated wait is longer than
	// the context's deadline allows; Acquire rejects at once rather than
	// wait for a slot it cannot use. Errors wrapping it are *WaitError and
	// also match context.DeadlineExceeded.
	ErrWouldExceedDeadline = errors.New("limiter: wait would exceed context deadline")
)

// CapacityError says which bucket a request can never fit in.
type CapacityError struct {
	Kind  Kind
	Need  int64 // what the request reserves
	Limit int64 // the bucket's capacity
}

func (e *CapacityError) Error() string {
	return fmt.Sprintf("limiter: request needs %d %s but the limit is %d per window", e.Need, e.Kind, e.Limit)
}

// Unwrap returns ErrExceedsCapacity.
func (e *CapacityError) Unwrap() error { return ErrExceedsCapacity }

// WaitError reports an acquire rejected because its estimated wait exceeds
// the context's deadline.
type WaitError struct {
	Reason Reason        // what it would have waited for
	Wait   time.Duration // the estimated wait
	Left   time.Duration // time left before the deadline
}

func (e *WaitError) Error() string {
	return fmt.Sprintf("limiter: estimated %s wait of %v exceeds the %v left before the context deadline", e.Reason, e.Wait.Round(time.Millisecond), e.Left.Round(time.Millisecond))
}

// Unwrap returns ErrWouldExceedDeadline and context.DeadlineExceeded.
func (e *WaitError) Unwrap() []error {
	return []error{ErrWouldExceedDeadline, context.DeadlineExceeded}
}
