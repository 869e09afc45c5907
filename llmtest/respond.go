package llmtest

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"time"
)

// rendered is a response body before it is sent: JSON, or SSE events (each
// complete with its trailing blank line).
type rendered struct {
	body   []byte
	events [][]byte
	// usage reports whether the body tells the client its usage (an
	// OpenAI chat stream does only with include_usage).
	usage bool
}

// header sets the headers every response carries.
func (x *exchange) header(contentType string) http.Header {
	h := x.w.Header()
	h.Set(x.d.requestIDHeader(), x.reqID)
	h.Set("Content-Type", contentType)
	if x.states == nil && x.c.Model != "" {
		x.states = x.s.quotas.peek(x.quotaKey(), time.Now())
	}
	x.d.rateHeaders(h, x.states, time.Now(), x.s.cfg.ExactHeaders)
	return h
}

func (x *exchange) writeHeader(code int) {
	x.w.WriteHeader(code)
	x.s.rec.status(x.rec, code)
}

// fail sends an error response in the provider's shape.
func (x *exchange) fail(e apiError) {
	if e.typ == "" {
		e.typ = x.d.errorType(e.status)
	}
	if e.message == "" {
		e.message = x.d.errorMessage(e.status)
	}
	body := x.d.errorBody(e, x.reqID)
	h := x.header("application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	x.writeHeader(e.status)
	_, _ = x.w.Write(body)
}

// send writes a 200, applying the slow-stream, truncate and stream-error
// faults, and reports whether the whole body was sent.
func (x *exchange) send(resp rendered) bool {
	delay := x.s.cfg.StreamEventDelay
	var truncate bool
	if f := x.fault; f != nil {
		switch f.Kind {
		case FaultSlowStream:
			delay = max(delay, f.Delay)
		case FaultTruncate:
			truncate = true
		case FaultStreamError:
			resp.events = [][]byte{x.d.streamError(apiError{typ: cmpStr(f.ErrorType, "overloaded_error"), code: f.ErrorCode}, x.reqID)}
		}
	}
	if resp.events == nil {
		return x.sendBody(resp.body, delay, truncate)
	}
	x.header("text/event-stream; charset=utf-8").Set("Cache-Control", "no-cache")
	x.writeHeader(http.StatusOK)
	x.flush()
	for i, ev := range resp.events {
		if i > 0 && !sleep(x.ctx, delay) {
			x.cut()
			return false
		}
		if truncate && i == len(resp.events)/2 {
			x.truncated()
			return false
		}
		if _, err := x.w.Write(ev); err != nil {
			return false
		}
		x.flush()
	}
	if x.fault != nil && x.fault.Kind == FaultStreamError {
		return false
	}
	x.s.rec.add(func(s *Stats) { s.Completed++ })
	return true
}

// sendBody writes a JSON 200; a slow response waits delay between the
// headers and the body.
func (x *exchange) sendBody(body []byte, delay time.Duration, truncate bool) bool {
	x.header("application/json").Set("Content-Length", strconv.Itoa(len(body)))
	x.writeHeader(http.StatusOK)
	if x.fault != nil && x.fault.Kind == FaultSlowStream {
		x.flush()
		if !sleep(x.ctx, delay) {
			x.cut()
			return false
		}
	}
	if truncate {
		_, _ = x.w.Write(body[:len(body)/2])
		x.truncated()
		return false
	}
	if _, err := x.w.Write(body); err != nil {
		return false
	}
	x.s.rec.add(func(s *Stats) { s.Completed++ })
	return true
}

func (x *exchange) truncated() {
	x.flush()
	x.s.rec.add(func(s *Stats) { s.Truncated++ })
	x.cut()
}

func (x *exchange) flush() { _ = http.NewResponseController(x.w).Flush() }

// cut closes the connection mid-response, so the client sees an unexpected
// EOF rather than a clean end of body. Without a hijackable connection the
// response just ends.
func (x *exchange) cut() {
	conn, _, err := http.NewResponseController(x.w).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

// reset aborts the connection with a TCP RST before any response.
func (x *exchange) reset() {
	x.s.rec.status(x.rec, 0)
	conn, _, err := http.NewResponseController(x.w).Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // close sends RST instead of FIN
	}
	_ = conn.Close()
}

// sleep waits d or until ctx ends, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
