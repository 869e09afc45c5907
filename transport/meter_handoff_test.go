package transport

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/limiter"
)

const (
	// handoffSent is the JSON body the provider sends; handoffRead is the
	// one a layer between the meter and the limit layer gives the caller
	// instead.
	handoffSent = `{"id":"msg_sent","type":"message","model":"claude-x","content":[],"usage":{"input_tokens":11,"output_tokens":1}}`
	handoffRead = `{"id":"msg_read","type":"message","model":"claude-x","content":[],"usage":{"input_tokens":22,"output_tokens":2}}`
	// handoffOverloaded is a 200 stream that fails at its first event: the
	// retry layer retries it.
	handoffOverloaded = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
)

// scriptRT answers the n-th request with the n-th reply (the last one
// repeats), in memory.
type scriptRT struct {
	mu      sync.Mutex
	n       int
	replies []scriptReply
}

type scriptReply struct{ contentType, body string }

func (s *scriptRT) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	s.mu.Lock()
	r := s.replies[min(s.n, len(s.replies)-1)]
	s.n++
	s.mu.Unlock()
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {r.contentType}},
		Body: io.NopCloser(strings.NewReader(r.body)), ContentLength: int64(len(r.body)), Request: req}, nil
}

// replaceJSON is a layer that gives back every JSON response with a body
// of its own — as a caching or transcoding layer would — and closes the
// body it replaced only when its own is closed.
type replaceJSON struct{ next http.RoundTripper }

func (r replaceJSON) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err == nil && resp.Header.Get("Content-Type") == "application/json" {
		resp.Body = &replacedBody{Reader: strings.NewReader(handoffRead), orig: resp.Body}
		resp.ContentLength = int64(len(handoffRead))
	}
	return resp, err
}

type replacedBody struct {
	io.Reader
	orig io.ReadCloser
}

func (b *replacedBody) Close() error { return b.orig.Close() }

// The meter reports the usage of the body the caller read, whatever a layer
// between it and the limit layer did with the attempts' bodies: the limit
// layer's reading of a body reaches the meter only with that body.
func TestMeterReportsTheBodyTheCallerRead(t *testing.T) {
	defer goleak.VerifyNone(t)
	cases := []struct {
		name    string
		replies []scriptReply
		stack   func(limit http.RoundTripper) http.RoundTripper
	}{
		{
			name:    "a layer between replaces the body",
			replies: []scriptReply{{"application/json", handoffSent}},
			stack:   func(limit http.RoundTripper) http.RoundTripper { return replaceJSON{limit} },
		},
		{
			// The first attempt's stream fails and is discarded: what the
			// limit layer read from it belongs to that attempt only.
			name:    "after a retried attempt, a layer between replaces the body",
			replies: []scriptReply{{"text/event-stream", handoffOverloaded}, {"application/json", handoffSent}},
			stack: func(limit http.RoundTripper) http.RoundTripper {
				// As in New: the limit layer keeps the cool-down, the
				// retry layer none of its own.
				c := newConfig([]Option{})
				c.retry = RetrySettings{InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond}
				return newRetry(replaceJSON{limit}, c, false)
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := limiter.New()
			defer l.Close()
			var reports []UsageReport
			rt := Meter(tc.stack(Limit(&scriptRT{replies: tc.replies}, LimitSettings{Limiter: l})),
				MeterSettings{OnUsage: func(_ context.Context, r UsageReport) { reports = append(reports, r) }})

			body := `{"model":"claude-x","max_tokens":8,"messages":[]}`
			req, _ := http.NewRequest(http.MethodPost, "https://api.anthropic.com/v1/messages", strings.NewReader(body))
			req.Header.Set("x-api-key", "handoff-key")
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !bytes.Equal(got, []byte(handoffRead)) {
				t.Fatalf("the caller read %s", got)
			}
			if len(reports) != 1 {
				t.Fatalf("%d usage reports, want 1", len(reports))
			}
			r := reports[0]
			if r.Err != nil || !r.Usage.Known || r.Usage.InputTokens != 22 || r.Usage.OutputTokens != 2 {
				t.Errorf("report %+v (err %v), want the usage of the body read: 22 in, 2 out, no error", r.Usage, r.Err)
			}
		})
	}
}

// The meter takes the limit layer's reading through the wrappers the stack
// itself puts between them, which pass every byte on: no second scan.
func TestSettleBodyOfSeesThroughTheStacksWrappers(t *testing.T) {
	sb := &settleBody{ReadCloser: io.NopCloser(strings.NewReader(""))}
	peeked := &peekedBody{Reader: sb, orig: sb}
	for name, body := range map[string]io.ReadCloser{
		"the limit layer's body":           sb,
		"peeked":                           peeked,
		"under an attempt timeout, peeked": &cancelOnClose{ReadCloser: peeked, cancel: func(error) {}},
	} {
		if got := settleBodyOf(body); got != sb {
			t.Errorf("%s: settleBodyOf = %v, want the limit layer's body", name, got)
		}
	}
	replaced := &replacedBody{Reader: strings.NewReader(""), orig: sb}
	if got := settleBodyOf(replaced); got != nil {
		t.Errorf("a replaced body: settleBodyOf = %v, want nil", got)
	}
}
