package transport

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// A first attempt that sends no headers within RetrySettings.AttemptTimeout is
// abandoned and retried after one backoff step; the second answers at
// once.
func TestRetryAttemptTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		srv := newPipeServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body) // lets the server notice the client going away
			if n.Add(1) == 1 {
				select {
				case <-r.Context().Done():
				case <-time.After(10 * time.Second):
				}
				return
			}
			_, _ = io.WriteString(w, "late but fine")
		}))
		c, _ := retryClientOver(srv.Transport(t), RetrySettings{AttemptTimeout: 200 * time.Millisecond, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
		start := time.Now()
		resp, err := retryPost(t, c, context.Background(), srv.URL, retryJSON)
		if err != nil {
			t.Fatal(err)
		}
		if body := retryReadAll(t, resp); body != "late but fine" || n.Load() != 2 {
			t.Fatalf("got %q after %d attempts", body, n.Load())
		}
		// The 200 ms timeout, then a 1 ms backoff jittered into [0.5, 1] ms.
		if el := time.Since(start); el < 200500*time.Microsecond || el > 201*time.Millisecond {
			t.Fatalf("took %v, want 200.5ms to 201ms: the first attempt cut at its timeout", el)
		}
	})
}
