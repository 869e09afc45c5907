package transport

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/sluicehq/sluice/telemetry"
)

const stackBenchBody = `{"model":"claude-bench","max_tokens":256,"messages":[{"role":"user","content":"` +
	"lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua ut enim ad minim veniam quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur excepteur sint occaecat cupidatat non proident sunt in culpa qui officia deserunt mollit anim id est laborum lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua ut enim ad minim veniam quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur excepteur sint occaecat cupidatat non proident sunt in culpa qui officia deserunt mollit anim id est laborum lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua ut enim ad minim veniam quis nostrud exercitation" + `"}]}`

func stackBenchServer(b *testing.B) *httptest.Server {
	resp := `{"id":"msg_1","type":"message","role":"assistant","model":"claude-bench","content":[{"type":"text","text":"` +
		strings.Repeat("ok ", 300) + `"}],"stop_reason":"end_turn","usage":{"input_tokens":250,"output_tokens":300,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		h := w.Header()
		h.Set("content-type", "application/json")
		h.Set("anthropic-ratelimit-requests-limit", "100000")
		h.Set("anthropic-ratelimit-requests-remaining", "99999")
		h.Set("anthropic-ratelimit-requests-reset", "2026-01-01T00:00:00Z")
		_, _ = io.WriteString(w, resp)
	}))
	b.Cleanup(srv.Close)
	return srv
}

func stackBench(b *testing.B, rt http.RoundTripper) {
	srv := stackBenchServer(b)
	client := &http.Client{Transport: rt}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/messages", strings.NewReader(stackBenchBody))
		req.Header.Set("x-api-key", "bench")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// BenchmarkStackBare is the loopback call with a plain http.Transport.
func BenchmarkStackBare(b *testing.B) { stackBench(b, defaultBase()) }

// BenchmarkStackNoop is the same call through New with no-op telemetry.
func BenchmarkStackNoop(b *testing.B) {
	tr := New(defaultBase(), WithTelemetry(
		telemetry.WithTracerProvider(tracenoop.NewTracerProvider()),
		telemetry.WithMeterProvider(metricnoop.NewMeterProvider())))
	defer tr.Close()
	stackBench(b, tr)
}
