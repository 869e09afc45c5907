package transport

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

const (
	sseOverloadedEvent = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
	sseRateLimitEvent  = "event: error\r\ndata: {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"slow\"}}\r\n\r\n"
	sseNormalStream    = "event: message_start\ndata: {\"type\":\"message_start\"}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
)

func TestFirstEvent(t *testing.T) {
	tests := []struct {
		in   string
		want sseVerdict
	}{
		{"", sseUndecided},
		{"event: message_sta", sseUndecided},
		{"event: message_start\n", sseOK},
		{"event: response.created\n", sseOK},
		{": keep-alive\n\nevent: ping\n", sseOK},
		{"event: error\n", sseUndecided},
		{"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}\n", sseUndecided},
		{sseOverloadedEvent, sseOverloaded},
		{sseRateLimitEvent, sseRateLimited},
		{"event: error\ndata: {\"error\":{\"type\":\"api_error\"}}\n\n", sseOK},
		{"event: error\ndata: not json\n\n", sseOK},
		{"data: {\"id\":\"chatcmpl-1\",\"choices\":[]}\n", sseOK},
		{"data: {\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}\n", sseRateLimited},
		{"data: {\"error\":{\"message\":\"Request too large for gpt-4o\",\"code\":\"rate_limit_exceeded\"}}\n", sseOK},
		{"data: [DONE]\n", sseOK},
		// SSE lines end in LF, CR or CRLF (WHATWG HTML §9.2.5).
		{"event: message_start\r", sseOK},
		{"event: message_start\r\n", sseOK},
		{"event: error\r", sseUndecided},
		{"event: error\rdata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}\r", sseUndecided},
		{lineEnds(sseOverloadedEvent, "\r"), sseOverloaded},
		{lineEnds(sseOverloadedEvent, "\r\n"), sseOverloaded},
		{lineEnds(sseNormalStream, "\r"), sseOK},
		{lineEnds(sseNormalStream, "\r\n"), sseOK},
		{": keep-alive\r\rdata: {\"error\":{\"type\":\"overloaded_error\"}}\r", sseOverloaded},
	}
	for _, tt := range tests {
		if got := firstEvent([]byte(tt.in)); got != tt.want {
			t.Errorf("firstEvent(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// lineEnds returns s, whose lines end in LF, with them ending in eol.
func lineEnds(s, eol string) string { return strings.ReplaceAll(s, "\n", eol) }

// FuzzFirstEvent: any prefix classifies without panicking, a verdict
// reached on a prefix does not change when more bytes arrive, and the line
// ends do not change the verdict.
func FuzzFirstEvent(f *testing.F) {
	for _, s := range []string{sseOverloadedEvent, sseRateLimitEvent, sseNormalStream, ": c\n\ndata: {}\n", "data: {\"error\":{\"code\":\"rate_limit_exceeded\"}}\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		full := firstEvent(b)
		for i := range b {
			if v := firstEvent(b[:i]); v != sseUndecided && v != full {
				t.Fatalf("prefix %q decided %d, full input %d", b[:i], v, full)
			}
		}
		if strings.ContainsRune(string(b), '\r') {
			return
		}
		for _, eol := range []string{"\r", "\r\n"} {
			if v := firstEvent([]byte(lineEnds(string(b), eol))); v != full {
				t.Fatalf("%q decided %d with %q line ends, %d with LF", b, v, eol, full)
			}
		}
	})
}

// retrySSEServer serves first[i] to the i-th request and a normal stream
// after them, over in-memory connections: make it in a synctest bubble.
// It counts the requests.
func retrySSEServer(t *testing.T, first ...string) (*pipeServer, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := newPipeServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		w.WriteHeader(200)
		if i < len(first) {
			_, _ = io.WriteString(w, first[i])
			return
		}
		_, _ = io.WriteString(w, sseNormalStream)
	}))
	return srv, &n
}

func TestRetryStreamFirstEventError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, n := retrySSEServer(t, sseOverloadedEvent, sseRateLimitEvent)
		c, cc := retryClientOver(srv.Transport(t), RetrySettings{InitialBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
		resp, err := retryPost(t, c, context.Background(), srv.URL, retryJSON)
		if err != nil {
			t.Fatal(err)
		}
		if got := retryReadAll(t, resp); got != sseNormalStream {
			t.Fatalf("stream not intact: %q", got)
		}
		if n.Load() != 3 || cc.opened.Load() != cc.closed.Load() {
			t.Fatalf("%d attempts, bodies %d/%d", n.Load(), cc.opened.Load(), cc.closed.Load())
		}
	})
}

// A stream whose lines end in CR or CRLF is classified like one in LF: an
// overloaded first event is retried, and the stream that follows is handed
// over intact.
func TestRetryStreamFirstEventLineEnds(t *testing.T) {
	for _, eol := range []string{"\r", "\r\n"} {
		t.Run(fmt.Sprintf("%q", eol), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var n atomic.Int64
				srv := newPipeServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "text/event-stream")
					if n.Add(1) == 1 {
						_, _ = io.WriteString(w, lineEnds(sseOverloadedEvent, eol))
						return
					}
					_, _ = io.WriteString(w, lineEnds(sseNormalStream, eol))
				}))
				c, _ := retryClientOver(srv.Transport(t), RetrySettings{InitialBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
				resp, err := retryPost(t, c, context.Background(), srv.URL, retryJSON)
				if err != nil {
					t.Fatal(err)
				}
				if got := retryReadAll(t, resp); got != lineEnds(sseNormalStream, eol) || n.Load() != 2 {
					t.Fatalf("%d attempts, got %q", n.Load(), got)
				}
			})
		})
	}
}

// The peek settles a normal stream at the end of its first line, whatever
// the line end: it never reads further before handing the stream over.
func TestRetryStreamPeekStopsAtFirstLine(t *testing.T) {
	for _, eol := range []string{"\n", "\r", "\r\n"} {
		t.Run(fmt.Sprintf("%q", eol), func(t *testing.T) {
			first := "event: message_start" + eol
			rest := &watchedReader{r: strings.NewReader(lineEnds("data: {}\n\n", eol))}
			next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: http.StatusOK, Request: r,
					Header: http.Header{"Content-Type": {"text/event-stream"}},
					Body:   io.NopCloser(io.MultiReader(strings.NewReader(first), rest))}, nil
			})
			req := httptest.NewRequest(http.MethodPost, "http://api.test/v1/messages", strings.NewReader(retryJSON))
			resp, err := Retry(next, RetrySettings{}).RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			if rest.read {
				t.Fatal("the peek read past the first line")
			}
			if got := retryReadAll(t, resp); got != first+lineEnds("data: {}\n\n", eol) {
				t.Fatalf("stream not intact: %q", got)
			}
		})
	}
}

// watchedReader records whether it was read.
type watchedReader struct {
	r    io.Reader
	read bool
}

func (w *watchedReader) Read(p []byte) (int, error) {
	w.read = true
	return w.r.Read(p)
}

func TestRetryStreamErrorGiveUpKeepsBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, _ := retrySSEServer(t, sseOverloadedEvent, sseOverloadedEvent)
		c, _ := retryClientOver(srv.Transport(t), RetrySettings{MaxAttempts: 2, InitialBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
		resp, err := retryPost(t, c, context.Background(), srv.URL, retryJSON)
		if err != nil {
			t.Fatal(err)
		}
		if got := retryReadAll(t, resp); got != sseOverloadedEvent || resp.Header.Get("x-should-retry") != "false" {
			t.Fatalf("got %q, x-should-retry %q", got, resp.Header.Get("x-should-retry"))
		}
	})
}

// The peek must not hold a normal stream back beyond its first line: the
// headers come back at once while the server holds the rest of the event
// (for 10 s, unless released).
func TestRetryStreamPeekDoesNotWaitForFullEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		srv := newPipeServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "event: message_start\n")
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-time.After(10 * time.Second):
			}
			_, _ = io.WriteString(w, "data: {}\n\n")
		}))
		c, _ := retryClientOver(srv.Transport(t), RetrySettings{})
		start := time.Now()
		resp, err := retryPost(t, c, context.Background(), srv.URL, retryJSON)
		if err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el != 0 {
			t.Fatalf("headers returned after %v, want at once: the peek waited for the whole event", el)
		}
		close(release)
		if got := retryReadAll(t, resp); got != "event: message_start\ndata: {}\n\n" {
			t.Fatalf("stream not intact: %q", got)
		}
	})
}

func TestIsEventStream(t *testing.T) {
	for ct, want := range map[string]bool{
		"text/event-stream":                true,
		"text/event-stream; charset=utf-8": true,
		"Text/Event-Stream":                true,
		" \ttext/event-stream":             true,
		"\u00a0text/event-stream":          true, // TrimSpace trims Unicode space
		"application/json":                 false,
		"Application/JSON; charset=utf-8":  false,
		"text/plain":                       false,
		"":                                 false,
		"x-text/event-stream":              false,
		"/text/event-stream":               false,
	} {
		resp := &http.Response{Header: http.Header{"Content-Type": {ct}}}
		if got := isEventStream(resp); got != want {
			t.Errorf("isEventStream(%q) = %v, want %v", ct, got, want)
		}
	}
}
