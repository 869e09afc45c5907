package transport

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// quotaRT answers every request with a 429 of the given header and body.
type quotaRT struct {
	shouldRetry, body string
	arrivals          atomic.Int64
}

func (q *quotaRT) RoundTrip(req *http.Request) (*http.Response, error) {
	q.arrivals.Add(1)
	if req.Body != nil {
		req.Body.Close()
	}
	h := http.Header{"Content-Type": {"application/json"}, "Retry-After": {"5"}}
	if q.shouldRetry != "" {
		h.Set(headerShouldRetry, q.shouldRetry)
	}
	return &http.Response{StatusCode: 429, Header: h, Body: io.NopCloser(strings.NewReader(q.body)), Request: req}, nil
}

// A hard quota 429 starts no cool-down in the retry layer's own cool-down
// (WithoutLimit) nor in the limit layer's (transport.New): every later
// call gets the same answer at once, one attempt each, marked
// HeaderHardQuota.
func TestHardQuotaSetsNoCooldown(t *testing.T) {
	bodies := map[string]*quotaRT{
		"spend limit":  {body: `{"type":"error","error":{"type":"rate_limit_error","message":"spend","details":{"error_code":"enforced_spend_limit_reached"}}}`},
		"insufficient": {body: `{"error":{"message":"quota","type":"insufficient_quota","code":"insufficient_quota"}}`},
		"should-retry": {shouldRetry: "false", body: `{"type":"error","error":{"type":"rate_limit_error","message":"no"}}`},
		"too large":    {body: `{"error":{"message":"Request too large for gpt-4o","type":"tokens","code":"rate_limit_exceeded"}}`},
	}
	for name, q := range bodies {
		for _, stack := range []string{"retry", "new"} {
			t.Run(name+"/"+stack, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					q.arrivals.Store(0)
					var rt http.RoundTripper = Retry(q, RetrySettings{})
					if stack == "new" {
						tr := New(q, WithoutAttemptSpans())
						defer tr.Close()
						rt = tr
					}
					start := time.Now()
					for i := range 3 {
						req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, "http://api.test/v1/messages",
							strings.NewReader(`{"model":"m","max_tokens":10,"messages":[]}`))
						resp, err := rt.RoundTrip(req)
						if err != nil {
							t.Fatalf("call %d: %v", i, err)
						}
						if !IsHardQuota(resp) || resp.Header.Get(HeaderHardQuota) != "true" {
							t.Fatalf("call %d: not marked a hard quota: %v", i, resp.Header)
						}
						resp.Body.Close()
					}
					if d := time.Since(start); d != 0 {
						t.Fatalf("3 calls took %v of (fake) time: a cool-down held them back", d)
					}
					if n := q.arrivals.Load(); n != 3 {
						t.Fatalf("%d attempts, want 3 (one per call)", n)
					}
				})
			})
		}
	}
}

// An ordinary 429 is not a hard quota; IsHardQuota leaves its body intact.
func TestIsHardQuotaOrdinary(t *testing.T) {
	body := `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`
	resp := &http.Response{StatusCode: 429, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body))}
	if IsHardQuota(resp) {
		t.Fatal("an ordinary 429 is a hard quota")
	}
	if b, _ := io.ReadAll(resp.Body); string(b) != body {
		t.Fatalf("body after IsHardQuota: %q", b)
	}
	if IsHardQuota(nil) || IsHardQuota(&http.Response{StatusCode: 529, Header: http.Header{HeaderHardQuota: {"true"}}}) {
		t.Fatal("IsHardQuota of nil or a 529: true")
	}
}
