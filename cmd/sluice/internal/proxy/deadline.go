package proxy

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// errHeaderDeadline is the cause of a call context that reached its
// deadline before the response headers arrived.
var errHeaderDeadline = errors.New("sluice proxy: call timeout before the response headers")

// callTimeout is the deadline of a call: the x-stainless-timeout header
// (seconds) that the Stainless-generated SDKs send with every request, or
// def when it is missing or not a positive number.
func callTimeout(r *http.Request, def time.Duration) time.Duration {
	v := r.Header.Get("x-stainless-timeout")
	if v == "" {
		return def
	}
	s, err := strconv.ParseFloat(v, 64)
	if err != nil || !(s > 0) || math.IsInf(s, 0) || s > 1e6 {
		return def
	}
	return time.Duration(s * float64(time.Second))
}

// callContext is a call's context: it ends when the client goes away, and
// at its deadline until the response headers arrive. The SDKs' timeout
// covers the wait for the response headers, not the stream that follows
// (a stream may last longer than the timeout), so the proxy's deadline
// does too: admission, retries and the wait for the headers stay inside
// it, and release lifts it once the headers are in.
//
// While the deadline holds, Deadline reports it, so the limiter refuses a
// wait it could not finish in time and the retry layer does not sleep past
// it; after release, Deadline reports none.
type callContext struct {
	context.Context // the client's request context
	deadline        time.Time
	done            chan struct{}
	timer           *time.Timer
	stopParent      func() bool

	mu       sync.Mutex // guards err, cause, released
	err      error
	cause    error
	released bool
}

type callKey struct{}

// withCallDeadline returns parent with a header deadline d from now, and
// a function that ends the context (call it when the handler returns).
func withCallDeadline(parent context.Context, d time.Duration) (*callContext, func()) {
	c := &callContext{Context: parent, deadline: time.Now().Add(d), done: make(chan struct{})}
	c.stopParent = context.AfterFunc(parent, func() { c.end(parent.Err(), context.Cause(parent)) })
	c.timer = time.AfterFunc(d, func() { c.end(context.DeadlineExceeded, errHeaderDeadline) })
	return c, func() {
		c.timer.Stop()
		c.stopParent()
		c.end(context.Canceled, context.Canceled)
	}
}

func (c *callContext) end(err, cause error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err, c.cause = err, cause
	close(c.done)
}

// release lifts the deadline: the response headers are in.
func (c *callContext) release() {
	if c.timer.Stop() {
		c.mu.Lock()
		c.released = true
		c.mu.Unlock()
	}
}

func (c *callContext) Deadline() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.released {
		return time.Time{}, false
	}
	return c.deadline, true
}

func (c *callContext) Done() <-chan struct{} { return c.done }

func (c *callContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *callContext) Value(key any) any {
	if key == (callKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// causeOf returns why ctx ended: errHeaderDeadline when a call context
// reached its deadline, else context.Cause(ctx). (context.Cause cannot see
// a callContext's own cause: it looks for the standard library's private
// cancel context, which is the parent's.)
func causeOf(ctx context.Context) error {
	if c, ok := ctx.Value(callKey{}).(*callContext); ok {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.cause != nil {
			return c.cause
		}
	}
	return context.Cause(ctx)
}

// releaseOnHeaders lifts the call's deadline as soon as the stack returns a
// response, so a stream is not cut at the client's timeout.
type releaseOnHeaders struct{ next http.RoundTripper }

func (r releaseOnHeaders) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if c, ok := req.Context().Value(callKey{}).(*callContext); ok && err == nil {
		c.release()
	}
	return resp, err
}
