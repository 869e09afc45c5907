package transport

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// retryBenchBody is an SDK-like request body (with GetBody, as the SDKs send).
var retryBenchBody = []byte(`{"max_tokens":16,"messages":[{"role":"user","content":"hello"}],"model":"claude-bench"}`)

func retryBenchLoopback(b *testing.B, rt func(http.RoundTripper) http.RoundTripper) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()
	base := &http.Transport{MaxIdleConnsPerHost: 4}
	defer base.CloseIdleConnections()
	t := rt(base)
	url := srv.URL + "/v1/messages"
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(retryBenchBody))
		resp, err := t.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// BenchmarkRetryLoopbackBare is the bare transport on loopback, the
// baseline for BenchmarkRetryLoopback.
func BenchmarkRetryLoopbackBare(b *testing.B) {
	retryBenchLoopback(b, func(rt http.RoundTripper) http.RoundTripper { return rt })
}

// BenchmarkRetryLoopback is the retry layer (defaults: budget and cool-down
// on, global no-op telemetry) over the same transport, on a 200.
func BenchmarkRetryLoopback(b *testing.B) {
	retryBenchLoopback(b, func(rt http.RoundTripper) http.RoundTripper { return Retry(rt, RetrySettings{}) })
}

// retryStubRT answers every request with a canned 200 and no I/O, so the
// benchmarks below measure the layer alone, without loopback noise.
type retryStubRT struct{}

func (retryStubRT) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
	return &http.Response{StatusCode: 200, Header: retryStubHeader, Body: http.NoBody, Request: r}, nil
}

var retryStubHeader = http.Header{"Content-Type": {"application/json"}}

func retryBenchStub(b *testing.B, rt http.RoundTripper) {
	req, _ := http.NewRequest(http.MethodPost, "http://api.test/v1/messages", bytes.NewReader(retryBenchBody))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rt.RoundTrip(req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRetryStubBare is the in-memory stub alone.
func BenchmarkRetryStubBare(b *testing.B) { retryBenchStub(b, retryStubRT{}) }

// BenchmarkRetryStub is the retry layer's own cost on a 200 that needs no
// retry: the difference with BenchmarkRetryStubBare.
func BenchmarkRetryStub(b *testing.B) { retryBenchStub(b, Retry(retryStubRT{}, RetrySettings{})) }

// BenchmarkRetryStubStream adds the first-event peek of a 200 SSE stream.
func BenchmarkRetryStubStream(b *testing.B) {
	rt := Retry(retryRTFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
			Body: io.NopCloser(strings.NewReader("event: message_start\ndata: {}\n\n"))}, nil
	}), RetrySettings{})
	retryBenchStub(b, rt)
}

// retryRTFunc adapts a function to http.RoundTripper (tests only).
type retryRTFunc func(*http.Request) (*http.Response, error)

func (f retryRTFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
