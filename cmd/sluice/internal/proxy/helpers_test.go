package proxy

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// testConfig is a proxy in front of upstream (both providers) with a
// compressed window and short backoff, as the tests of the layers use.
func testConfig(upstream string) Config {
	c := Defaults()
	c.Listen = "127.0.0.1:0"
	c.AnthropicUpstream, c.OpenAIUpstream = upstream, upstream
	c.Window = time.Second
	c.BackoffMin, c.BackoffMax = 20*time.Millisecond, 200*time.Millisecond
	c.ShutdownGrace = 10 * time.Second
	c.OTLP = false
	c.LogLevel = "debug"
	c.LogFormat = "json"
	return c
}

// running is a proxy a test started.
type running struct {
	URL    string
	Logs   *syncBuffer
	server *Server
	stop   context.CancelFunc
	done   chan error
}

// startProxy serves c on a free loopback port until the test ends (or
// Shutdown), and checks that Serve then returned cleanly.
func startProxy(t *testing.T, c Config) *running {
	t.Helper()
	logs := &syncBuffer{}
	s, err := New(context.Background(), c, NewLogger(c, logs), Deps{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", c.Listen)
	if err != nil {
		_ = s.Close()
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	r := &running{URL: "http://" + l.Addr().String(), Logs: logs, server: s, stop: stop, done: make(chan error, 1)}
	go func() { r.done <- s.Serve(ctx, l) }()
	t.Cleanup(func() {
		if err := r.Shutdown(); err != nil {
			t.Errorf("Serve: %v", err)
		}
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	})
	return r
}

// Shutdown starts the graceful shutdown (as SIGTERM does) and waits for
// Serve to return. It is safe to call more than once.
func (r *running) Shutdown() error {
	r.stop()
	err, ok := <-r.done
	if !ok {
		return nil
	}
	close(r.done)
	return err
}

// syncBuffer is a bytes.Buffer safe for the proxy's concurrent log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// post sends body to the proxy's path with the given headers and returns
// the response with its body read.
func post(t *testing.T, url, body string, h map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
