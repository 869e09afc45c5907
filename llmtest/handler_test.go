package llmtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
)

// TestNewHandler serves without listening, through a ResponseRecorder.
func TestNewHandler(t *testing.T) {
	s := NewHandler(Config{Quota: Quota{Requests: 1}})
	defer s.Close()
	if s.URL != "" {
		t.Errorf("URL = %q", s.URL)
	}
	codes := []int{}
	for range 2 {
		req := httptest.NewRequest(http.MethodPost, "/v1/messages", strings.NewReader(string(anthropicBody("m", "hi", 5, true))))
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		codes = append(codes, rec.Code)
	}
	if codes[0] != 200 || codes[1] != 429 {
		t.Errorf("codes = %v", codes)
	}
	// Connection faults degrade without a hijackable writer.
	s.Inject(Fault{Kind: FaultReset})
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/messages", strings.NewReader("{}")))
	if rec.Body.Len() != 0 || s.Stats().Resets != 1 {
		t.Errorf("reset through a recorder wrote %q", rec.Body.String())
	}
}

func TestNotFoundAndMethod(t *testing.T) {
	s := newTestServer(t, Config{})
	res, b := post(t, s, "/v1/models", "k", nil)
	if res.StatusCode != 404 || !strings.Contains(string(b), "Not found: /v1/models") {
		t.Errorf("404: %d %s", res.StatusCode, b)
	}
	res2, err := s.Client().Get(s.URL + "/v1/messages")
	if err != nil {
		t.Fatal(err)
	}
	res2.Body.Close()
	if res2.StatusCode != 405 {
		t.Errorf("GET: %d", res2.StatusCode)
	}
}

func TestAnthropicMaxTokensZero(t *testing.T) {
	s := newTestServer(t, Config{})
	res, b := post(t, s, "/v1/messages", "k", anthropicBody("m", "warm the cache", 0, false))
	var msg struct {
		Usage struct {
			OutputTokens int `json:"output_tokens"`
		}
		StopReason string `json:"stop_reason"`
	}
	if err := json.Unmarshal(b, &msg); err != nil || res.StatusCode != 200 || msg.Usage.OutputTokens != 0 || msg.StopReason != "max_tokens" {
		t.Errorf("max_tokens 0: %d %s", res.StatusCode, b)
	}
	res, _ = post(t, s, "/v1/chat/completions", "k", []byte(`{"model":"g","max_completion_tokens":0,"messages":[]}`))
	if res.StatusCode != 400 {
		t.Errorf("OpenAI max_completion_tokens 0: %d", res.StatusCode)
	}
}

func TestOpenAIResponses(t *testing.T) {
	s := newTestServer(t, Config{})
	res, b := post(t, s, "/v1/responses", "k", []byte(`{"model":"g","instructions":"abcd","input":"efgh"}`))
	var r struct {
		Object, Status string
		Output         []struct {
			Content []struct{ Type, Text string }
		}
		Usage struct {
			Input  int `json:"input_tokens"`
			Output int `json:"output_tokens"`
			Total  int `json:"total_tokens"`
		}
	}
	if err := json.Unmarshal(b, &r); err != nil || res.StatusCode != 200 || r.Object != "response" || r.Status != "completed" ||
		r.Usage.Input != 2 || r.Usage.Output != 16 || r.Usage.Total != 18 || CountTokens(r.Output[0].Content[0].Text) != 16 {
		t.Errorf("responses JSON: %d %s", res.StatusCode, b)
	}
	res, b = post(t, s, "/v1/responses", "k", []byte(`{"model":"g","input":[{"role":"user","content":[{"type":"input_text","text":"abcd"}]}],"stream":true,"max_output_tokens":4}`))
	names, data := sseEvents(t, b)
	last := names[len(names)-1]
	if res.StatusCode != 200 || names[0] != "response.created" || last != "response.incomplete" ||
		!strings.Contains(data[len(data)-1], `"output_tokens":4`) {
		t.Errorf("responses stream: %v", names)
	}
	for i, d := range data {
		var ev struct {
			Type string
			Seq  int `json:"sequence_number"`
		}
		if err := json.Unmarshal([]byte(d), &ev); err != nil || ev.Type != names[i] || ev.Seq != i {
			t.Errorf("event %d: %s", i, d)
		}
	}
}

func TestOpenAIStreamFaults(t *testing.T) {
	synctest.Test(t, testOpenAIStreamFaults)
}

func testOpenAIStreamFaults(t *testing.T) {
	s := newPipeServer(t, Config{Quota: Quota{Tokens: 1000}})
	s.Inject(Fault{Kind: FaultStreamError, ErrorType: "server_error"})
	res, b := post(t, s, "/v1/chat/completions", "k", openAIBody("g", "hi", 10, true, true))
	if res.StatusCode != 200 || !strings.HasPrefix(string(b), `data: {"error":{`) || strings.Contains(string(b), "[DONE]") {
		t.Errorf("stream error: %s", b)
	}
	// The errored request gave back all but its input.
	res, _ = post(t, s, "/v1/chat/completions", "k", openAIBody("g", "hi", 10, false, false))
	if v := res.Header.Get("x-ratelimit-remaining-tokens"); v != "988" {
		t.Errorf("remaining tokens = %s, want 988 (1000 - 1 kept by the errored call - 11 reserved now)", v)
	}
}

// TestHerdFromFaultHeaders: a scripted retry-after counts for herds too.
func TestHerdFromFaultHeaders(t *testing.T) {
	s := newTestServer(t, Config{})
	s.Inject(Fault{Kind: FaultStatus, Status: 429, RetryAfter: "60"}, Fault{Kind: FaultStatus, Status: 529, RetryAfterMs: "1"})
	for range 3 {
		post(t, s, "/v1/messages", "k", anthropicBody("m", "hi", 5, false))
	}
	if st := s.Stats(); st.HerdArrivals != 2 {
		t.Errorf("herd = %d, want 2", st.HerdArrivals)
	}
	post(t, s, "/v1/messages", "other", anthropicBody("m", "hi", 5, false))
	if st := s.Stats(); st.HerdArrivals != 2 {
		t.Errorf("another key counted as herd: %d", st.HerdArrivals)
	}
}
