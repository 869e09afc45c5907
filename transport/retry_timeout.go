package transport

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// sendWithTimeout makes one attempt whose response headers must arrive
// within d. The attempt's context lives on until the body is closed, so a
// slow stream is never cut by the header timeout.
func sendWithTimeout(next http.RoundTripper, req *http.Request, d time.Duration) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	timer := time.AfterFunc(d, func() { cancel(ErrAttemptTimeout) })
	resp, err := next.RoundTrip(req.WithContext(ctx))
	if !timer.Stop() { // the timer fired: the attempt ran out of time
		if err == nil {
			_ = resp.Body.Close()
		}
		cancel(nil)
		if req.Context().Err() != nil {
			return nil, req.Context().Err()
		}
		if err == nil {
			err = context.DeadlineExceeded
		}
		return nil, fmt.Errorf("%w after %v: %w", ErrAttemptTimeout, d, err)
	}
	if err != nil {
		cancel(nil)
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelOnClose releases an attempt's context when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelCauseFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel(nil)
	return err
}
