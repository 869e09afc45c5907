package proxy

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzHandler sends arbitrary paths, bodies and x-stainless-timeout values
// through the proxy and its whole stack (over an in-memory upstream): no
// layer panics, and every answer is one the documented mapping allows.
func FuzzHandler(f *testing.F) {
	f.Add("/v1/messages", []byte(`{"model":"m","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`), "600")
	f.Add("/v1/chat/completions", []byte(`{"model":"m","stream":true,"stream_options":{"include_usage":true}}`), "")
	f.Add("/v1/responses", []byte(`{"model":`), "0.5")
	f.Add("/v1/messages/count_tokens", []byte("\x00\xff{"), "-1")
	f.Add("/v1/../v1/messages", []byte(`[]`), "NaN")
	f.Add("/nowhere", []byte(nil), "1e400")
	c := Defaults()
	c.AnthropicUpstream, c.OpenAIUpstream, c.OTLP, c.Metrics = "http://upstream.test", "http://upstream.test", false, false
	s, err := New(context.Background(), c, slog.New(slog.DiscardHandler), Deps{Base: stubUpstream{}})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	h := s.http.Handler
	// 301 and 307: net/http's ServeMux redirects an unclean path (/v1/../x).
	allowed := map[int]bool{200: true, 301: true, 307: true, 404: true, 413: true, 429: true, 499: true, 502: true, 503: true, 504: true}
	f.Fuzz(func(t *testing.T, path string, body []byte, timeout string) {
		req, err := http.NewRequest(http.MethodPost, "http://proxy.test/", bytes.NewReader(body))
		if err != nil {
			return
		}
		req.URL.Path = path
		req.Header.Set("x-api-key", "sk-fuzz")
		req.Header.Set("x-stainless-timeout", timeout)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !allowed[rec.Code] {
			t.Fatalf("%q %q: status %d %s", path, body, rec.Code, rec.Body)
		}
	})
}
