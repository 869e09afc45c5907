package llmtest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzParseCall: any body parses or is refused, never panics, and counts
// no more tokens than a quarter of its bytes.
func FuzzParseCall(f *testing.F) {
	f.Add([]byte(`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`))
	f.Add([]byte(`{"model":"m","system":[{"type":"text","text":"s"}],"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]}`))
	f.Add([]byte(`{"model":"g","stream":true,"stream_options":{"include_usage":true},"max_completion_tokens":3}`))
	f.Add([]byte(`{"model":"g","input":[{"role":"user","content":"x"}],"instructions":"i","max_output_tokens":9}`))
	f.Add([]byte(`{"model":"m","max_tokens":-1}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"model":"m","max_tokens":5,"tools":[{"name":"t","description":"<d>","input_schema":{},"cache_control":{"type":"ephemeral"}}],"system":[{"type":"text","text":"s","cache_control":{"type":"ephemeral","ttl":"1h"}}],"messages":[{"role":"user","content":[{"type":"text","text":"x","cache_control":{"type":"ephemeral"}}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := parseCall(body, epMessages)
		if err == nil && (c.Model == "" || c.MaxTokens < 0 || c.InputTokens > (len(body)+3)/4) {
			t.Errorf("parseCall(%q) = %+v", body, c)
		}
	})
}

// FuzzServeHTTP: whatever the body, the handler answers 200, 400 or 429
// with a body.
func FuzzServeHTTP(f *testing.F) {
	f.Add("/v1/messages", []byte(`{"model":"m","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	f.Add("/v1/chat/completions", []byte(`{"model":"g","stream":true,"stream_options":{"include_usage":true}}`))
	f.Add("/v1/responses", []byte(`{"model":"g","input":"x","stream":true}`))
	f.Add("/v1/messages/count_tokens", []byte(`{"model":"m"}`))
	s := NewHandler(Config{Quota: Quota{Requests: 1000, InputTokens: 100, OutputTokens: 100, Tokens: 100}})
	defer s.Close()
	f.Fuzz(func(t *testing.T, path string, body []byte) {
		if len(path) == 0 || path[0] != '/' {
			path = "/" + path
		}
		req, err := http.NewRequest(http.MethodPost, "http://x"+path, bytes.NewReader(body))
		if err != nil {
			return
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 404, 429:
		default:
			t.Errorf("%s %q: status %d", path, body, rec.Code)
		}
		if rec.Body.Len() == 0 {
			t.Errorf("%s %q: empty body", path, body)
		}
	})
}
