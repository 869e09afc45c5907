package llmtest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestOutputDebt: OTPM is counted as output is generated. A response
// larger than the whole bucket is served (the bucket admits while its
// level is positive), leaves it in debt, and the next request is refused
// until the debt has refilled.
func TestOutputDebt(t *testing.T) {
	synctest.Test(t, testOutputDebt)
}

func testOutputDebt(t *testing.T) {
	s := newPipeServer(t, Config{
		Window: time.Second, Quota: Quota{OutputTokens: 1000}, ExactHeaders: true, RetryAfterMs: true,
		OutputTokens: func(string, int, int) int { return 1500 },
	})
	body := anthropicBody("claude-test", "hi", 4000, false)
	res, b := post(t, s, "/v1/messages", "k", body)
	var m struct{ Usage usage }
	_ = json.Unmarshal(b, &m)
	if res.StatusCode != 200 || m.Usage.OutputTokens != 1500 {
		t.Fatalf("first call: %d %s", res.StatusCode, b)
	}
	if v := res.Header.Get("anthropic-ratelimit-output-tokens-remaining"); v != "0" {
		t.Errorf("output remaining in debt = %q, want 0", v)
	}
	res, _ = post(t, s, "/v1/messages", "k", body)
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("x-should-retry") != "true" {
		t.Fatalf("call in debt: %d, want 429 with x-should-retry", res.StatusCode)
	}
	// 500 tokens of debt refill in half a second at 1000/s; the bucket
	// admits once its level is positive, announced as 1 ms more.
	if ms := res.Header.Get("retry-after-ms"); ms != "501" {
		t.Errorf("retry-after-ms = %s, want 501", ms)
	}
	time.Sleep(500 * time.Millisecond)
	if res, _ := post(t, s, "/v1/messages", "k", body); res.StatusCode != 429 {
		t.Errorf("with the debt just refilled, level 0: %d, want 429", res.StatusCode)
	}
	time.Sleep(time.Millisecond)
	if res, b := post(t, s, "/v1/messages", "k", body); res.StatusCode != 200 {
		t.Errorf("at the announced moment: %d %s", res.StatusCode, b)
	}
	if st := s.Stats(); st.OutputTokens != 3000 || st.RateLimited != 2 {
		t.Errorf("stats %+v", st)
	}
}

// TestMaxTokensOverOTPM: an agent sending max_tokens 16000 on an OTPM of
// 8000 is served under the current rule and refused outright under the
// old reservation rule.
func TestMaxTokensOverOTPM(t *testing.T) {
	body := anthropicBody("claude-test", "hi", 16000, false)
	s := newTestServer(t, Config{Quota: Quota{OutputTokens: 8000}})
	if res, b := post(t, s, "/v1/messages", "k", body); res.StatusCode != 200 {
		t.Errorf("default rule: %d %s", res.StatusCode, b)
	}
	s = newTestServer(t, Config{Quota: Quota{OutputTokens: 8000}, ReserveMaxTokens: true})
	res, b := post(t, s, "/v1/messages", "k", body)
	if res.StatusCode != 429 || res.Header.Get("retry-after") != "" || !strings.Contains(string(b), "16000 output tokens") {
		t.Errorf("ReserveMaxTokens: %d retry-after %q %s", res.StatusCode, res.Header.Get("retry-after"), b)
	}
	// OpenAI's TPM keeps reserving max_tokens.
	s = newTestServer(t, Config{Quota: Quota{Tokens: 8000}})
	if res, _ := post(t, s, "/v1/chat/completions", "k", openAIBody("gpt", "hi", 16000, false, false)); res.StatusCode != 429 {
		t.Errorf("OpenAI TPM with max_tokens over the limit: %d, want 429", res.StatusCode)
	}
}

func TestRoundedHeaders(t *testing.T) {
	prompt := strings.Repeat("a", 5600) // 1400 tokens
	for _, tc := range []struct {
		exact bool
		want  map[string]string
	}{
		{false, map[string]string{"requests": "99", "input-tokens": "99000", "output-tokens": "80000", "tokens": "179000"}},
		{true, map[string]string{"requests": "99", "input-tokens": "98600", "output-tokens": "79984", "tokens": "178584"}},
	} {
		s := newTestServer(t, Config{Quota: Quota{Requests: 100, InputTokens: 100000, OutputTokens: 80000}, ExactHeaders: tc.exact})
		res, _ := post(t, s, "/v1/messages", "k", anthropicBody("claude-test", prompt, 100, false))
		for k, v := range tc.want {
			if got := res.Header.Get("anthropic-ratelimit-" + k + "-remaining"); got != v {
				t.Errorf("exact=%v: %s-remaining = %q, want %q", tc.exact, k, got, v)
			}
		}
		if got := res.Header.Get("anthropic-ratelimit-tokens-limit"); got != "180000" {
			t.Errorf("tokens-limit = %q, want 180000 (input + output)", got)
		}
	}
	// OpenAI's remaining counts stay exact.
	s := newTestServer(t, Config{Quota: Quota{Tokens: 100000}})
	res, _ := post(t, s, "/v1/chat/completions", "k", openAIBody("gpt", prompt, 100, false, false))
	if got := res.Header.Get("x-ratelimit-remaining-tokens"); got != "98500" {
		t.Errorf("x-ratelimit-remaining-tokens = %q, want 98500", got)
	}
}

func TestAnthropicModelClass(t *testing.T) {
	for model, want := range map[string]string{
		"claude-opus-4-1-20250805":   "claude-opus-4",
		"claude-opus-4-5":            "claude-opus-4",
		"claude-opus-4-20250514":     "claude-opus-4",
		"claude-sonnet-4-5-20250929": "claude-sonnet-4.x",
		"claude-sonnet-4-6":          "claude-sonnet-4.x",
		"claude-sonnet-4-20250514":   "claude-sonnet-4-20250514",
		"claude-3-5-haiku-20241022":  "claude-3-5-haiku-20241022",
	} {
		if got := AnthropicModelClass(model); got != want {
			t.Errorf("AnthropicModelClass(%q) = %q, want %q", model, got, want)
		}
	}
}

func TestModelClassSharing(t *testing.T) {
	status := func(s *testServer, model string) int {
		res, _ := post(t, s, "/v1/messages", "k", anthropicBody(model, "hi", 5, false))
		return res.StatusCode
	}
	s := newTestServer(t, Config{Quota: Quota{Requests: 2}, ModelClass: AnthropicModelClass})
	for _, tc := range []struct {
		model string
		want  int
	}{
		{"claude-opus-4-1", 200}, {"claude-opus-4-5", 200}, {"claude-opus-4-6", 429},
		{"claude-sonnet-4-5", 200}, {"claude-sonnet-4-6", 200}, {"claude-sonnet-4-5-20250929", 429},
		{"claude-sonnet-4-20250514", 200}, {"claude-sonnet-4-20250514", 200}, {"claude-sonnet-4-20250514", 429},
	} {
		if got := status(s, tc.model); got != tc.want {
			t.Errorf("shared classes: %s: %d, want %d", tc.model, got, tc.want)
		}
	}
	// Without ModelClass every model has its own buckets.
	s = newTestServer(t, Config{Quota: Quota{Requests: 1}})
	for _, m := range []string{"claude-opus-4-1", "claude-opus-4-5", "claude-opus-4-6"} {
		if got := status(s, m); got != 200 {
			t.Errorf("own buckets: %s: %d", m, got)
		}
	}
}

// TestRouting: llmtest routes by path on its own, suffix-matched.
func TestRouting(t *testing.T) {
	s := newTestServer(t, Config{})
	for path, want := range map[string]int{
		"/v1/messages":                   200,
		"/proxy/v1/messages":             200,
		"/v1/messages/":                  200,
		"/v1/messages/count_tokens":      200,
		"/v1/chat/completions":           200,
		"/openai/v1/chat/completions":    200,
		"/v1/responses":                  200,
		"/v1/models":                     404,
		"/messages":                      404,
		"/v1/messages/batches":           404,
		"/v1/chat/completions/something": 404,
	} {
		body := anthropicBody("m", "hi", 5, false)
		if strings.Contains(path, "chat") || strings.Contains(path, "responses") {
			body = openAIBody("gpt", "hi", 5, false, false)
		}
		if res, b := post(t, s, path, "k", body); res.StatusCode != want {
			t.Errorf("%s: %d, want %d: %s", path, res.StatusCode, want, b)
		}
	}
}
