package llmtest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestAnthropicRequestQuota(t *testing.T) {
	synctest.Test(t, testAnthropicRequestQuota)
}

func testAnthropicRequestQuota(t *testing.T) {
	s := newPipeServer(t, Config{Quota: Quota{Requests: 3}})
	for i := range 3 {
		if res, b := post(t, s, "/v1/messages", "k", anthropicBody("m", "hi", 5, false)); res.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, res.StatusCode, b)
		}
	}
	start := time.Now()
	res, b := post(t, s, "/v1/messages", "k", anthropicBody("m", "hi", 5, false))
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("4th request: %d", res.StatusCode)
	}
	var e struct {
		Type      string
		RequestID string `json:"request_id"`
		Error     struct{ Type, Message string }
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Type != "error" || e.Error.Type != "rate_limit_error" || e.RequestID != res.Header.Get("request-id") {
		t.Errorf("429 body %s", b)
	}
	// One request refills in Window/3 = 20s.
	if ra := res.Header.Get("retry-after"); ra != "20" {
		t.Errorf("retry-after = %q, want 20", ra)
	}
	if res.Header.Get("x-should-retry") != "true" {
		t.Errorf("x-should-retry = %q", res.Header.Get("x-should-retry"))
	}
	if v := res.Header.Get("anthropic-ratelimit-requests-remaining"); v != "0" {
		t.Errorf("remaining = %q", v)
	}
	reset, err := time.Parse(time.RFC3339, res.Header.Get("anthropic-ratelimit-requests-reset"))
	if err != nil {
		t.Fatal(err)
	}
	// Empty bucket: full again in a whole Window (the bubble's clock
	// starts on a whole second, so the header's rounding up changes
	// nothing).
	if d := reset.Sub(start); d != 60*time.Second {
		t.Errorf("reset in %v, want 60s", d)
	}
	// Another key has its own bucket.
	if res, _ := post(t, s, "/v1/messages", "other", anthropicBody("m", "hi", 5, false)); res.StatusCode != 200 {
		t.Errorf("other key: %d", res.StatusCode)
	}
	// And another model.
	if res, _ := post(t, s, "/v1/messages", "k", anthropicBody("m2", "hi", 5, false)); res.StatusCode != 200 {
		t.Errorf("other model: %d", res.StatusCode)
	}
	if st := s.Stats(); st.RateLimited != 1 || st.ByStatus[429] != 1 || st.Admitted != 5 {
		t.Errorf("stats = %+v", st)
	}
}

func TestAnthropicTokenHeaders(t *testing.T) {
	s := newTestServer(t, Config{Quota: Quota{InputTokens: 1000, OutputTokens: 500}, ExactHeaders: true})
	prompt := strings.Repeat("a", 400) // 100 tokens
	res, _ := post(t, s, "/v1/messages", "k", anthropicBody("m", prompt, 200, false))
	h := res.Header
	want := map[string]string{
		"anthropic-ratelimit-input-tokens-limit":      "1000",
		"anthropic-ratelimit-input-tokens-remaining":  "900",
		"anthropic-ratelimit-output-tokens-limit":     "500",
		"anthropic-ratelimit-output-tokens-remaining": "484", // the 16 generated, not max_tokens
		"anthropic-ratelimit-tokens-limit":            "1500",
		"anthropic-ratelimit-tokens-remaining":        "1384",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if h.Get("anthropic-ratelimit-requests-limit") != "" {
		t.Errorf("requests headers sent with no requests quota")
	}
	for _, k := range []string{"input-tokens", "output-tokens", "tokens"} {
		if _, err := time.Parse(time.RFC3339, h.Get("anthropic-ratelimit-"+k+"-reset")); err != nil {
			t.Errorf("%s reset: %v", k, err)
		}
	}
}

// TestReserveMaxTokensHeaders: the 2025 rule reserves max_tokens at
// admission and settles to the real output at the end.
func TestReserveMaxTokensHeaders(t *testing.T) {
	synctest.Test(t, testReserveMaxTokensHeaders)
}

func testReserveMaxTokensHeaders(t *testing.T) {
	s := newPipeServer(t, Config{Quota: Quota{InputTokens: 1000, OutputTokens: 500}, ExactHeaders: true, ReserveMaxTokens: true})
	prompt := strings.Repeat("a", 400) // 100 tokens
	res, _ := post(t, s, "/v1/messages", "k", anthropicBody("m", prompt, 200, false))
	for k, v := range map[string]string{
		"anthropic-ratelimit-output-tokens-remaining": "300", // max_tokens reserved until the response ends
		"anthropic-ratelimit-tokens-remaining":        "1200",
	} {
		if got := res.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	// Settlement: only 16 output tokens were generated, so the next
	// request, at the same instant, sees 500-16 minus its own reservation.
	res, _ = post(t, s, "/v1/messages", "k", anthropicBody("m", prompt, 200, false))
	if rem := res.Header.Get("anthropic-ratelimit-output-tokens-remaining"); rem != "284" {
		t.Errorf("output remaining after settlement = %s, want 284", rem)
	}
}

func TestOpenAIQuotaHeaders(t *testing.T) {
	synctest.Test(t, testOpenAIQuotaHeaders)
}

func testOpenAIQuotaHeaders(t *testing.T) {
	s := newPipeServer(t, Config{Quota: Quota{Requests: 60, Tokens: 1000}, Window: time.Minute})
	res, _ := post(t, s, "/v1/chat/completions", "k", openAIBody("gpt", strings.Repeat("a", 400), 100, false, false))
	h := res.Header
	if h.Get("x-ratelimit-limit-requests") != "60" || h.Get("x-ratelimit-remaining-requests") != "59" ||
		h.Get("x-ratelimit-limit-tokens") != "1000" || h.Get("x-ratelimit-remaining-tokens") != "800" {
		t.Errorf("headers = %v", h)
	}
	for k, want := range map[string]time.Duration{"requests": time.Second, "tokens": 12 * time.Second} {
		d, err := time.ParseDuration(h.Get("x-ratelimit-reset-" + k))
		if err != nil {
			t.Fatalf("reset-%s: %v", k, err)
		}
		if d != want {
			t.Errorf("reset-%s = %v, want %v", k, d, want)
		}
	}
}

func TestRequestTooLarge(t *testing.T) {
	s := newTestServer(t, Config{Quota: Quota{Tokens: 100}, Window: time.Second})
	res, b := post(t, s, "/v1/chat/completions", "k", openAIBody("gpt", strings.Repeat("a", 400), 10, false, false))
	var e struct {
		Error struct {
			Message, Type, Code string
		}
	}
	_ = json.Unmarshal(b, &e)
	if res.StatusCode != 429 || !strings.HasPrefix(e.Error.Message, "Request too large") || e.Error.Type != "tokens" || e.Error.Code != "rate_limit_exceeded" {
		t.Errorf("too large: %d %s", res.StatusCode, b)
	}
	if res.Header.Get("retry-after") != "" {
		t.Errorf("too-large 429 announces retry-after %q", res.Header.Get("retry-after"))
	}
}
