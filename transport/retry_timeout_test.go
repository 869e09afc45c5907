package transport

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// A first attempt that sends no headers within WithAttemptTimeout is
// abandoned and retried; the second answers at once.
func TestRetryAttemptTimeout(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	defer srv.Close()
	c, _ := retryClient(t, WithAttemptTimeout(200*time.Millisecond), WithBackoff(time.Millisecond, 5*time.Millisecond))
	start := time.Now()
	resp, err := retryPost(t, c, context.Background(), srv.URL, retryJSON)
	if err != nil {
		t.Fatal(err)
	}
	if body := retryReadAll(t, resp); body != "late but fine" || n.Load() != 2 {
		t.Fatalf("got %q after %d attempts", body, n.Load())
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("took %v: the first attempt was not cut", el)
	}
}
