package transport

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	"github.com/sluicehq/sluice/internal/usage"
)

// peekedBody gives the caller the bytes the retry layer read ahead, then
// the rest of the original body, so a peek leaves the body intact. Close
// closes the original body (which is what ends the attempt span).
type peekedBody struct {
	io.Reader
	orig io.ReadCloser
}

func (p *peekedBody) Close() error { return p.orig.Close() }

// peekBody reads from resp.Body until enough(buf) is true, max bytes have
// been read, or the body ends or fails, and puts a body back on resp that
// replays those bytes first. It never reads past max, and returns the bytes
// read (which the caller must not modify).
func peekBody(resp *http.Response, max int, enough func([]byte) bool) []byte {
	buf := make([]byte, 0, min(max, 512)) // a first SSE line or an error body fits; grows if not
	var err error
	for len(buf) < max && !(enough != nil && enough(buf)) && err == nil {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // grow
		}
		var n int
		n, err = resp.Body.Read(buf[len(buf):min(cap(buf), max)])
		buf = buf[:len(buf)+n]
	}
	resp.Body = &peekedBody{Reader: io.MultiReader(bytes.NewReader(buf), resp.Body), orig: resp.Body}
	return buf
}

// discard drains at most max bytes of body so the connection can be reused,
// then closes it (which also ends an otelhttp attempt span).
func discard(body io.ReadCloser, max int64) {
	if body == nil {
		return
	}
	_, _ = io.CopyN(io.Discard, body, max)
	_ = body.Close()
}

// isEventStream reports whether resp is a server-sent-event stream.
func isEventStream(resp *http.Response) bool {
	return usage.IsEventStream(resp.Header.Get("Content-Type"))
}

// sseVerdict is what the first event of a stream says about the attempt.
type sseVerdict uint8

const (
	sseUndecided   sseVerdict = iota // need more bytes
	sseOK                            // a normal first event: hand the stream over
	sseOverloaded                    // event: error, overloaded_error — like a 529
	sseRateLimited                   // event: error, rate_limit_error — like a 429
)

// firstEvent classifies the first server-sent event in buf, split by the
// meter's own scanner (usage.FirstEvent). It decides as early as the bytes
// allow, so a normal stream is held back only until its first line:
// "event: message_start" (Anthropic) or "event: response.created" (OpenAI
// Responses) settle it at once; a data-only stream (OpenAI chat) is
// settled by its first data line, which carries an "error" object when the
// stream failed before any output.
func firstEvent(buf []byte) sseVerdict {
	ev, ok := usage.FirstEvent(buf)
	if !ok {
		return sseUndecided
	}
	return classifyStreamError(ev.Data)
}

// classifyStreamError reads an error event's JSON data.
func classifyStreamError(data []byte) sseVerdict {
	var e errorBody
	if json.Unmarshal(data, &e) != nil || e.Error == nil {
		return sseOK
	}
	switch {
	case e.Error.Type == "overloaded_error":
		return sseOverloaded
	case e.Error.Type == "rate_limit_error", e.Error.Code == "rate_limit_exceeded" && !e.hardLimit():
		return sseRateLimited
	}
	return sseOK
}
