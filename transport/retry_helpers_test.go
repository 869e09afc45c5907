package transport

import (
	"crypto/sha256"
	"errors"
	"io"
	"math"
	"net/http"
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
// last; it records each request's body hash and arrival.
type retryServer struct {
	URL      string
	pipe     *pipeServer
	mu       sync.Mutex
	script   []retryReply
	hashes   [][32]byte
	arrivals []time.Time
}

// newRetryPipeServer starts a retryServer on in-memory connections, for a
// test in a synctest bubble; reach it with its client.
func newRetryPipeServer(t *testing.T, script ...retryReply) *retryServer {
	t.Helper()
	s := &retryServer{script: script}
	s.pipe = newPipeServer(t, http.HandlerFunc(s.serve))
	s.URL = s.pipe.URL
	return s
}

// client is an http.Client through the retry layer that reaches s.
func (s *retryServer) client(t *testing.T, rs RetrySettings, opts ...LayerOption) (*http.Client, *closeCounter) {
	t.Helper()
	return retryClientOver(s.pipe.Transport(t), rs, opts...)
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

// gaps returns the time between consecutive arrivals.
func (s *retryServer) gaps() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var g []time.Duration
	for i := 1; i < len(s.arrivals); i++ {
		g = append(g, s.arrivals[i].Sub(s.arrivals[i-1]))
	}
	return g
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

// zeroBudget is a retry budget with room for no retry at all: a ratio of
// 0 and no retries per second. RetrySettings cannot say a ratio of 0 (0
// means the default, 1.0), so the ratio is the smallest positive float64:
// ratio × calls stays far below one retry for any number of calls.
var zeroBudget = RetrySettings{BudgetRatio: math.SmallestNonzeroFloat64, BudgetMinPerSecond: -1}

// retryClientOver is an http.Client through the retry layer over base.
func retryClientOver(base http.RoundTripper, s RetrySettings, opts ...LayerOption) (*http.Client, *closeCounter) {
	cc := &closeCounter{next: base}
	return &http.Client{Transport: Retry(cc, s, opts...)}, cc
}

const retryJSON = `{"model":"claude-test","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`

func retryRateLimited(ms string) retryReply {
	return retryReply{status: 429, headers: map[string]string{"retry-after-ms": ms, "content-type": "application/json"},
		body: `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`}
}

var retryOK = retryReply{status: 200, headers: map[string]string{"content-type": "application/json"}, body: `{"ok":true}`}

func retrySHA256(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func retryErrorsIs(err, target error) bool { return errors.Is(err, target) }
