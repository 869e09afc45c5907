package bench

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// messageJSON is a realistic non-streaming Anthropic Messages response of
// about 1 KB: the shape and headers of a real 200, so that layers that read
// usage or rate-limit headers do their real work.
var messageJSON = []byte(`{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"` +
	strings.Repeat("The quick brown fox jumps over the lazy dog. ", 17) +
	`"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":412,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":187,"service_tier":"standard"}}`)

// requestJSON is the ~1 KB Messages request every overhead benchmark sends.
var requestJSON = []byte(`{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":"` +
	strings.Repeat("Summarise the following paragraph in one line. ", 19) + `"}]}`)

// rateHeaders are the anthropic-ratelimit-* headers of a generous quota, so
// a limiter that learns from headers never has to wait.
func rateHeaders(h http.Header) {
	reset := time.Now().Add(time.Minute).UTC().Format(time.RFC3339)
	for _, k := range []string{"requests", "tokens", "input-tokens", "output-tokens"} {
		h.Set("anthropic-ratelimit-"+k+"-limit", "100000000")
		h.Set("anthropic-ratelimit-"+k+"-remaining", "99999999")
		h.Set("anthropic-ratelimit-"+k+"-reset", reset)
	}
}

// messageHandler answers every request with messageJSON and a 200.
func messageHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var buf [4096]byte
		for {
			if _, err := r.Body.Read(buf[:]); err != nil {
				break
			}
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(messageJSON)))
		h.Set("request-id", "req_bench0000000001")
		rateHeaders(h)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(messageJSON)
	})
}

// newMessageRequest builds the POST /v1/messages request of the overhead
// benchmarks. Its body is a bytes.Reader, so GetBody is set and every
// layer can replay it.
func newMessageRequest(base string, body []byte) *http.Request {
	req, err := http.NewRequest(http.MethodPost, base+"/v1/messages", bytes.NewReader(body))
	if err != nil {
		panic(fmt.Sprintf("bench: building request: %v", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("anthropic-version", "2023-06-01")
	req.Header.Set("x-api-key", "sk-ant-bench-not-a-real-key")
	return req
}

// newBase returns a fresh bare transport with enough idle connections for
// the parallel scenarios. Callers CloseIdleConnections when done.
func newBase() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 256
	return t
}
