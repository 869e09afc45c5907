package proxy

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/llmtest"
)

const (
	anthropicKey = "sk-ant-test-secret-0123456789"
	openAIKey    = "sk-openai-test-secret-9876543210"
	prompt       = "tell me the secret recipe of the house"
)

var anthropicHeaders = map[string]string{"x-api-key": anthropicKey, "anthropic-version": "2023-06-01"}
var openAIHeaders = map[string]string{"Authorization": "Bearer " + openAIKey}

// Each route reaches its provider's endpoint on the upstream and comes
// back as the provider answered; any other path is a 404 in the shape of
// the provider the client speaks to.
func TestRoutes(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Config{})
	defer srv.Close()
	p := startProxy(t, testConfig(srv.URL))
	msg := `{"model":"claude-test","max_tokens":16,"messages":[{"role":"user","content":"` + prompt + `"}]}`
	chat := `{"model":"gpt-test","max_tokens":16,"messages":[{"role":"user","content":"` + prompt + `"}]}`
	for _, tc := range []struct {
		path, body string
		h          map[string]string
		status     int
		want       string // a substring of the body
	}{
		{"/v1/messages", msg, anthropicHeaders, 200, `"type":"message"`},
		{"/v1/messages/count_tokens", msg, anthropicHeaders, 200, `"input_tokens"`},
		{"/v1/chat/completions", chat, openAIHeaders, 200, `"chat.completion"`},
		{"/v1/responses", `{"model":"gpt-test","input":"` + prompt + `"}`, openAIHeaders, 200, `"object":"response"`},
		{"/v1/models", "", anthropicHeaders, 404, `"type":"not_found_error"`},
		{"/v1/embeddings", "", openAIHeaders, 404, `"code":"unknown_url"`},
		{"/", "", nil, 404, `"type":"error"`},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := post(t, p.URL+tc.path, tc.body, tc.h)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("%d %s, want %d with %s", resp.StatusCode, body, tc.status, tc.want)
			}
			if tc.status == 404 && resp.Header.Get(HeaderRefusal) != "not_found" {
				t.Errorf("%s = %q", HeaderRefusal, resp.Header.Get(HeaderRefusal))
			}
			if tc.status == 200 && resp.Header.Get(HeaderRefusal) != "" {
				t.Errorf("a provider's answer carries %s", HeaderRefusal)
			}
		})
	}
}

// The client's API key reaches the upstream untouched; neither it nor the
// prompt appears in a log line, even at debug level.
func TestKeyPassesThroughAndIsNeverLogged(t *testing.T) {
	var gotKey, gotAuth atomic.Value
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/messages") {
			gotKey.Store(r.Header.Get("x-api-key"))
		} else {
			gotAuth.Store(r.Header.Get("Authorization"))
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"error":{"type":"invalid_request_error","message":"bad"}}`)
	})
	p := startProxy(t, testConfig(up))
	post(t, p.URL+"/v1/messages", `{"model":"m","messages":[{"role":"user","content":"`+prompt+`"}]}`, anthropicHeaders)
	post(t, p.URL+"/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"`+prompt+`"}]}`, openAIHeaders)
	post(t, p.URL+"/v1/nowhere", prompt, anthropicHeaders)
	if gotKey.Load() != anthropicKey || gotAuth.Load() != "Bearer "+openAIKey {
		t.Fatalf("upstream saw x-api-key %q, Authorization %q", gotKey.Load(), gotAuth.Load())
	}
	logs := p.Logs.String()
	for _, secret := range []string{anthropicKey, openAIKey, "secret recipe"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
	}
	if !strings.Contains(logs, `"msg":"call"`) {
		t.Errorf("no call logged:\n%s", logs)
	}
}

// An SSE stream reaches the client event by event: the first event arrives
// while the upstream still holds the rest back.
func TestStreamIsFlushedPerEvent(t *testing.T) {
	release := make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "event: message_start\ndata: {\"type\":\"message_start\"}\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	})
	p := startProxy(t, testConfig(up))
	resp := stream(t, p.URL+"/v1/messages", anthropicHeaders)
	defer resp.Body.Close()
	first := readEvent(t, resp.Body, 10*time.Second)
	if !strings.Contains(first, "message_start") {
		t.Fatalf("first event %q", first)
	}
	close(release)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || !strings.Contains(string(rest), "message_stop") {
		t.Fatalf("rest %q, %v", rest, err)
	}
}

// A client that goes away cancels its call upstream.
func TestClientDisconnectCancelsUpstream(t *testing.T) {
	arrived, canceled := make(chan struct{}), make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		// net/http notices a client going away only once the body is read.
		_, _ = io.Copy(io.Discard, r.Body)
		close(arrived)
		<-r.Context().Done()
		close(canceled)
	})
	p := startProxy(t, testConfig(up))
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.URL+"/v1/messages", strings.NewReader(`{"model":"m"}`))
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	waitChan(t, arrived, "the call upstream")
	cancel()
	waitChan(t, canceled, "the upstream call's cancellation")
	<-errc
}

// A body above the providers' 32 MB limit is refused with 413 before
// anything is sent, whether its length is declared or not.
func TestBodyOverLimitIs413(t *testing.T) {
	var arrivals atomic.Int64
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { arrivals.Add(1) })
	p := startProxy(t, testConfig(up))
	big := strings.Repeat("x", MaxBody+1)
	for _, chunked := range []bool{false, true} {
		var body io.Reader = strings.NewReader(big)
		if chunked {
			body = io.MultiReader(strings.NewReader(big)) // no length: sent chunked
		}
		req, _ := http.NewRequest(http.MethodPost, p.URL+"/v1/messages", body)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 413 || !strings.Contains(string(b), "request_too_large") {
			t.Errorf("chunked=%v: %d %s", chunked, resp.StatusCode, b)
		}
	}
	if n := arrivals.Load(); n != 0 {
		t.Errorf("%d requests reached the upstream", n)
	}
}

// Malformed JSON goes to the provider, which judges it; no layer fails.
func TestMalformedJSONReachesTheProvider(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Config{})
	defer srv.Close()
	p := startProxy(t, testConfig(srv.URL))
	for _, body := range []string{`{"model":`, `[1,2`, "\x00\xff", `{"model":"m","max_tokens":"many","stream":"yes"}`, ""} {
		resp, b := post(t, p.URL+"/v1/messages", body, anthropicHeaders)
		if resp.StatusCode != 400 || resp.Header.Get(HeaderRefusal) != "" {
			t.Errorf("%q: %d %s", body, resp.StatusCode, b)
		}
	}
	if got := srv.Stats().Arrivals; got != 5 {
		t.Errorf("upstream saw %d arrivals, want 5", got)
	}
}

// A flood of headers is refused by the server before the proxy reads it.
func TestHeaderFloodIsBounded(t *testing.T) {
	var arrivals atomic.Int64
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { arrivals.Add(1) })
	p := startProxy(t, testConfig(up))
	h := map[string]string{}
	for i := range 2000 {
		h["X-Flood-"+strconv.Itoa(i)] = strings.Repeat("v", 64)
	}
	resp, _ := post(t, p.URL+"/v1/messages", "{}", h)
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || arrivals.Load() != 0 {
		t.Fatalf("status %d, %d arrivals", resp.StatusCode, arrivals.Load())
	}
}

// newUpstream serves h on loopback until the test ends.
func newUpstream(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func stream(t *testing.T, url string, h map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"model":"m","max_tokens":16,"stream":true,"messages":[]}`))
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// readEvent reads one SSE event (up to its blank line) from r, failing the
// test if it does not arrive within d.
func readEvent(t *testing.T, r io.Reader, d time.Duration) string {
	t.Helper()
	type result struct {
		s   string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		br := bufio.NewReader(r)
		var sb strings.Builder
		for {
			line, err := br.ReadString('\n')
			sb.WriteString(line)
			if err != nil || line == "\n" {
				ch <- result{sb.String(), err}
				return
			}
		}
	}()
	select {
	case res := <-ch:
		if res.err != nil {
			t.Fatalf("reading the first event: %v (%q)", res.err, res.s)
		}
		return res.s
	case <-time.After(d):
		t.Fatalf("no event within %v: the proxy buffers the stream", d)
	}
	return ""
}

func waitChan(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}
