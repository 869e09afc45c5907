package transport

import (
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// retryReply is one scripted answer of a retryServer.
type retryReply struct {
	status  int
	headers map[string]string
	body    string
}

// retryServer answers from a script, one reply per request, repeating the
// last; it records each request's body hash, model header and arrival.
type retryServer struct {
	*httptest.Server
	mu       sync.Mutex
	script   []retryReply
	hashes   [][32]byte
	arrivals []time.Time
}

func newRetryServer(t *testing.T, script ...retryReply) *retryServer {
	t.Helper()
	s := &retryServer{script: script}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *retryServer) serve(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	n := len(s.hashes)
	s.hashes = append(s.hashes, sha256.Sum256(b))
	s.arrivals = append(s.arrivals, time.Now())
	rep := s.script[min(n, len(s.script)-1)]
	s.mu.Unlock()
	for k, v := range rep.headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(rep.status)
	_, _ = io.WriteString(w, rep.body)
}

func (s *retryServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.hashes)
}

// closeCounter wraps a transport and counts response bodies opened and
// closed, to prove the retry layer closes every body it discards.
type closeCounter struct {
	next           http.RoundTripper
	opened, closed atomic.Int64
}

func (c *closeCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	if err == nil {
		c.opened.Add(1)
		resp.Body = &countedBody{ReadCloser: resp.Body, c: c}
	}
	return resp, err
}

type countedBody struct {
	io.ReadCloser
	c    *closeCounter
	once sync.Once
}

func (b *countedBody) Close() error {
	b.once.Do(func() { b.c.closed.Add(1) })
	return b.ReadCloser.Close()
}

// retryClient is an http.Client through the retry layer over a fresh
// transport whose idle connections are closed when the test ends.
func retryClient(t *testing.T, opts ...Option) (*http.Client, *closeCounter) {
	t.Helper()
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)
	cc := &closeCounter{next: base}
	return &http.Client{Transport: Retry(cc, opts...)}, cc
}

const retryJSON = `{"model":"claude-test","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`

func retryRateLimited(ms string) retryReply {
	return retryReply{status: 429, headers: map[string]string{"retry-after-ms": ms, "content-type": "application/json"},
		body: `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`}
}

var retryOK = retryReply{status: 200, headers: map[string]string{"content-type": "application/json"}, body: `{"ok":true}`}

func retrySHA256(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func retryErrorsIs(err, target error) bool { return errors.Is(err, target) }
