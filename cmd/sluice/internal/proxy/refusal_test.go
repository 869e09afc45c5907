package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/limiter"
	"github.com/sluicehq/sluice/llmtest"
	"github.com/sluicehq/sluice/transport"
)

// The documented mapping of errors without a response (docs/proxy.md) to
// status, retry-after, x-should-retry and the provider's error shape.
func TestRefusalMapping(t *testing.T) {
	soon := time.Now().Add(3 * time.Second)
	for _, tc := range []struct {
		err         error
		status      int
		reason      string
		retryAfter  string
		shouldRetry string
		anthropic   string // error.type
	}{
		{limiter.ErrQueueFull, 429, "queue_full", "1", "true", "rate_limit_error"},
		{&limiter.WaitError{Wait: 12500 * time.Millisecond}, 429, "deadline", "13", "false", "rate_limit_error"},
		{&limiter.CapacityError{Kind: limiter.Tokens, Need: 9, Limit: 4}, 429, "capacity", "", "false", "rate_limit_error"},
		{&transport.BreakerOpenError{Reason: "fail_fast", RetryAt: soon}, 503, "breaker_open", "3", "true", "overloaded_error"},
		{&transport.BreakerOpenError{Reason: "deadline", RetryAt: soon}, 503, "breaker_open", "3", "false", "overloaded_error"},
		{fmt.Errorf("wrapped: %w", limiter.ErrClosed), 503, "closed", "1", "true", "overloaded_error"},
		{&transport.RetryError{Attempts: 8, Reason: transport.ErrRetriesExhausted, Err: errors.New("dial tcp: refused")}, 502, "upstream_unreachable", "", "false", "api_error"},
		{&transport.RetryError{Attempts: 2, Reason: transport.ErrDeadlineTooSoon, Err: context.DeadlineExceeded}, 504, "timeout", "", "false", "api_error"},
	} {
		for _, p := range []Provider{Anthropic, OpenAI} {
			t.Run(fmt.Sprintf("%s/%T/%s", p, tc.err, tc.reason), func(t *testing.T) {
				ref := refusalOf(context.Background(), tc.err)
				rec := httptest.NewRecorder()
				ref.write(rec, p)
				h := rec.Header()
				if rec.Code != tc.status || h.Get(HeaderRefusal) != tc.reason ||
					h.Get("retry-after") != tc.retryAfter || h.Get("x-should-retry") != tc.shouldRetry {
					t.Fatalf("%d %s=%q retry-after=%q x-should-retry=%q", rec.Code, HeaderRefusal,
						h.Get(HeaderRefusal), h.Get("retry-after"), h.Get("x-should-retry"))
				}
				var body struct {
					Type  string `json:"type"`
					Error struct {
						Type    string `json:"type"`
						Message string `json:"message"`
						Code    any    `json:"code"`
					} `json:"error"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Message == "" {
					t.Fatalf("body %q: %v", rec.Body, err)
				}
				if p == Anthropic && (body.Type != "error" || body.Error.Type != tc.anthropic) {
					t.Errorf("anthropic body %s", rec.Body)
				}
				if p == OpenAI && tc.status == 429 && body.Error.Code != "rate_limit_exceeded" {
					t.Errorf("openai body %s", rec.Body)
				}
			})
		}
	}
}

// A call whose x-stainless-timeout is shorter than the rate limit's wait is
// refused at once with 429 and the wait as retry-after, not held until the
// client gives up.
func TestStainlessTimeoutBoundsTheWait(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Config{Window: time.Minute, Quota: llmtest.Quota{Requests: 2}})
	defer srv.Close()
	c := testConfig(srv.URL)
	c.Window = time.Minute
	p := startProxy(t, c)
	body := `{"model":"claude-test","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`
	h := map[string]string{"x-api-key": anthropicKey, "x-stainless-timeout": "2"}
	for range 2 {
		if resp, b := post(t, p.URL+"/v1/messages", body, h); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
	}
	resp, b := post(t, p.URL+"/v1/messages", body, h)
	if resp.StatusCode != 429 || resp.Header.Get(HeaderRefusal) != "deadline" || resp.Header.Get("x-should-retry") != "false" {
		t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, b)
	}
	if got := srv.Stats().Arrivals; got != 2 {
		t.Errorf("%d arrivals upstream, want 2", got)
	}
}

// The deadline covers the wait for the response headers only, as the SDKs'
// timeout does: a stream that outlasts it is not cut.
func TestStreamOutlastsTheTimeout(t *testing.T) {
	release := make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "event: message_start\ndata: {}\n\n")
		w.(http.Flusher).Flush()
		<-release
		_, _ = io.WriteString(w, "event: message_stop\ndata: {}\n\n")
	})
	p := startProxy(t, testConfig(up))
	resp := stream(t, p.URL+"/v1/messages", map[string]string{"x-stainless-timeout": "0.2"})
	defer resp.Body.Close()
	readEvent(t, resp.Body, 10*time.Second)
	time.Sleep(400 * time.Millisecond) // past the 0.2 s timeout
	close(release)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || !strings.Contains(string(rest), "message_stop") {
		t.Fatalf("stream cut: %q, %v", rest, err)
	}
}

// Without response headers by the deadline the call ends with 504.
func TestNoHeadersByTheDeadlineIs504(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	})
	p := startProxy(t, testConfig(up))
	resp, b := post(t, p.URL+"/v1/chat/completions", `{"model":"m"}`, map[string]string{"x-stainless-timeout": "0.3"})
	if resp.StatusCode != 504 || resp.Header.Get(HeaderRefusal) != "timeout" || !strings.Contains(b, "server_error") {
		t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, b)
	}
}

// Every error response the provider gave and sluice gave up on reaches the
// client with x-should-retry: false, so the client's SDK does not multiply
// the attempts.
func TestFinalResponseSaysDoNotRetry(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Config{})
	defer srv.Close()
	srv.Inject(llmtest.Fault{Kind: llmtest.FaultStatus, Status: 500, Count: 3}, llmtest.Fault{Kind: llmtest.FaultStatus, Status: 400})
	c := testConfig(srv.URL)
	c.MaxAttempts = 3
	p := startProxy(t, c)
	body := `{"model":"claude-test","max_tokens":16,"messages":[]}`
	for _, want := range []int{500, 400} {
		resp, b := post(t, p.URL+"/v1/messages", body, anthropicHeaders)
		if resp.StatusCode != want || resp.Header.Get("x-should-retry") != "false" || resp.Header.Get(HeaderRefusal) != "" {
			t.Fatalf("%d %v %s, want %d", resp.StatusCode, resp.Header, b, want)
		}
	}
	if got := srv.Stats().Arrivals; got != 4 {
		t.Errorf("%d arrivals, want 3 attempts + 1", got)
	}
}

// A full queue is refused with 429 queue_full while the calls ahead of it
// are still in flight.
func TestQueueFull(t *testing.T) {
	var inFlight atomic.Int64
	release := make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		inFlight.Add(1)
		<-release
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"type":"message","usage":{"input_tokens":1,"output_tokens":1}}`)
	})
	c := testConfig(up)
	c.Concurrency, c.MaxQueue = 1, 1
	p := startProxy(t, c)
	body := `{"model":"claude-test","max_tokens":16,"messages":[]}`
	done := make(chan int, 2)
	for range 2 { // one in flight, one queued
		go func() {
			resp, _ := post(t, p.URL+"/v1/messages", body, anthropicHeaders)
			done <- resp.StatusCode
		}()
	}
	waitFor(t, "one call upstream", 10*time.Second, func() bool { return inFlight.Load() == 1 })
	waitFor(t, "one call queued", 10*time.Second, func() bool {
		for _, k := range p.server.stack.Limiter().Stats() {
			if k.Queued == 1 {
				return true
			}
		}
		return false
	})
	resp, b := post(t, p.URL+"/v1/messages", body, anthropicHeaders)
	if resp.StatusCode != 429 || resp.Header.Get(HeaderRefusal) != "queue_full" || resp.Header.Get("retry-after") != "1" {
		t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, b)
	}
	close(release)
	for range 2 {
		if s := <-done; s != 200 {
			t.Errorf("queued call: %d", s)
		}
	}
}
