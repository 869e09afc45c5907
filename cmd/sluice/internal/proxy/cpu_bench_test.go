package proxy

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
)

// stubUpstream answers every request at once from memory, as llmtest
// would over the wire: a Messages response with its usage and rate-limit
// headers.
type stubUpstream struct{}

const stubResponse = `{"id":"msg_1","type":"message","role":"assistant","model":"claude-bench","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","usage":{"input_tokens":6,"output_tokens":1}}`

func (stubUpstream) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("request-id", "req_1")
	h.Set("anthropic-ratelimit-requests-limit", "1000000")
	h.Set("anthropic-ratelimit-requests-remaining", "999999")
	h.Set("anthropic-ratelimit-requests-reset", "2026-12-07T00:00:00Z")
	return &http.Response{StatusCode: 200, Header: h, Body: io.NopCloser(strings.NewReader(stubResponse)),
		ContentLength: int64(len(stubResponse)), Request: req}, nil
}

// BenchmarkProxyCPU is the CPU each setup spends on one call, with no
// network on either side (an in-memory upstream, httptest's recorder as
// the client): a bare httputil.ReverseProxy, the proxy's handler over a
// plain transport (routing, body buffering, deadline, error mapping), and
// `sluice proxy` with its whole stack.
func BenchmarkProxyCPU(b *testing.B) {
	target, _ := url.Parse("http://upstream.test")
	bare := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) }, FlushInterval: -1, Transport: stubUpstream{}}
	c := Defaults()
	c.AnthropicUpstream, c.OpenAIUpstream, c.OTLP = target.String(), target.String(), false
	handler, err := NewHandler(c, stubUpstream{}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(context.Background(), c, slog.New(slog.DiscardHandler), Deps{Base: stubUpstream{}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for _, tc := range []struct {
		name string
		h    http.Handler
	}{{"bare", bare}, {"handler", handler}, {"sluice", s.http.Handler}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				req := httptest.NewRequest(http.MethodPost, "http://proxy.test/v1/messages", strings.NewReader(benchBody))
				req.Header.Set("x-api-key", "sk-bench")
				rec := httptest.NewRecorder()
				tc.h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
