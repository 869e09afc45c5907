package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
)

// errorType is a short, low-cardinality, content-free class of a transport
// error for the error.type attribute: "breaker_open", "canceled",
// "timeout", else the Go type of the innermost cause, as otelhttp reports
// it.
func errorType(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, ErrBreakerOpen):
		return "breaker_open"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, ErrAttemptTimeout),
		errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	var ue *url.Error
	for errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Sprintf("%T", err)
}
