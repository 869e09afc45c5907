package llmtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/pipenet"
)

// testServer is a Server and a client that reaches it.
type testServer struct {
	*Server
	URL    string // the base URL the client reaches
	client *http.Client
}

// Client returns the client that reaches s.
func (s *testServer) Client() *http.Client { return s.client }

// newTestServer starts a server on loopback that the test closes.
func newTestServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	s := NewServer(cfg)
	t.Cleanup(s.Close)
	return &testServer{Server: s, URL: s.URL, client: s.Client()}
}

// newPipeServer serves NewHandler(cfg) over in-memory connections, for a
// test in a synctest bubble; the test's cleanup closes both ends.
func newPipeServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	s := NewHandler(cfg)
	ln := pipenet.NewListener()
	hs := &http.Server{Handler: s}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(ln)
	}()
	tr := &http.Transport{DialContext: ln.Dial}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		s.Close()
		_ = hs.Close()
		<-done
	})
	return &testServer{Server: s, URL: "http://llmtest.test", client: &http.Client{Transport: tr}}
}

// anthropicBody is a Messages request body with the given prompt.
func anthropicBody(model, prompt string, maxTokens int, stream bool) []byte {
	b, _ := json.Marshal(map[string]any{
		"model": model, "max_tokens": maxTokens, "stream": stream,
		"messages": []any{map[string]any{"role": "user", "content": prompt}},
	})
	return b
}

// openAIBody is a Chat Completions request body with the given prompt.
func openAIBody(model, prompt string, maxTokens int, stream, includeUsage bool) []byte {
	m := map[string]any{"model": model, "messages": []any{map[string]any{"role": "user", "content": prompt}}}
	if maxTokens > 0 {
		m["max_completion_tokens"] = maxTokens
	}
	if stream {
		m["stream"] = true
		m["stream_options"] = map[string]any{"include_usage": includeUsage}
	}
	b, _ := json.Marshal(m)
	return b
}

// post sends body to s at path with an API key and returns the response
// with its body read.
func post(t *testing.T, s *testServer, path, key string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(path, "messages") {
		req.Header.Set("x-api-key", key)
	} else {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return res, b
}

// sseEvents splits an SSE body into its event names (or "data" for
// data-only events) and data payloads.
func sseEvents(t *testing.T, body []byte) (names []string, data []string) {
	t.Helper()
	for _, block := range strings.Split(strings.TrimSpace(string(body)), "\n\n") {
		name := "data"
		var d string
		for _, line := range strings.Split(block, "\n") {
			switch {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				d = strings.TrimPrefix(line, "data: ")
			}
		}
		names = append(names, name)
		data = append(data, d)
	}
	return names, data
}
