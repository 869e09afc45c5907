package llmtest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkServeHTTP measures the handler alone (no network): how much
// load the fake can generate for the layers' benchmarks.
func BenchmarkServeHTTP(b *testing.B) {
	for _, bc := range []struct {
		name, path string
		body       []byte
	}{
		{"anthropic-json", "/v1/messages", anthropicBody("m", "hello there", 64, false)},
		{"anthropic-stream", "/v1/messages", anthropicBody("m", "hello there", 64, true)},
		{"openai-stream", "/v1/chat/completions", openAIBody("g", "hello there", 64, true, true)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := NewHandler(Config{Quota: Quota{Requests: 1 << 30, InputTokens: 1 << 30, OutputTokens: 1 << 30, Tokens: 1 << 30}})
			defer s.Close()
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, bc.path, bytes.NewReader(bc.body))
				req.Header.Set("x-api-key", "k")
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatal(rec.Code)
				}
			}
		})
	}
}
