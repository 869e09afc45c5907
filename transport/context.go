package transport

import "context"

// attemptKey carries the 0-based attempt number of a logical call from the
// retry layer to the layers beneath it (the attempt span sets
// http.request.resend_count from it).
type attemptKey struct{}

func withAttempt(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, attemptKey{}, n)
}

// attemptFrom returns the attempt number in ctx, 0 when none is set.
func attemptFrom(ctx context.Context) int {
	n, _ := ctx.Value(attemptKey{}).(int)
	return n
}
