package transport_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/transport"
)

// A provider that rate-limits the first attempt: the retry layer waits the
// 50 ms the server asked for (never less) and returns the second answer.
func ExampleRetry() {
	var attempts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if attempts.Add(1) == 1 {
			w.Header().Set("retry-after-ms", "50")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()

	client := &http.Client{Transport: transport.Retry(http.DefaultTransport, transport.RetrySettings{
		MaxAttempts:    4,
		InitialBackoff: 200 * time.Millisecond,
		MaxBackoff:     10 * time.Second,
	})}
	resp, err := client.Post(srv.URL+"/v1/messages", "application/json",
		strings.NewReader(`{"model":"claude-sonnet-4-5","max_tokens":64}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body), "after", attempts.Load(), "attempts")
	// Output: 200 {"ok":true} after 2 attempts
}

// The innermost layer: one "POST" span per physical attempt, with
// http.request.resend_count on each repeat. Compose it beneath Retry.
func ExampleAttempt() {
	rt := transport.Retry(transport.Attempt(http.DefaultTransport), transport.RetrySettings{})
	_ = &http.Client{Transport: rt}
	fmt.Println("ok")
	// Output: ok
}
