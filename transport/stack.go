package transport

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/sluicehq/sluice/limiter"
)

// Transport is the full sluice stack that New builds. It is an
// http.RoundTripper; Close releases what it holds.
type Transport struct {
	rt      http.RoundTripper
	base    http.RoundTripper
	limiter *limiter.Limiter // nil when the limiter is off
	owned   bool             // New built the limiter, so Close closes it
	// release undoes what the layers registered beyond their own lifetime:
	// the metric callbacks of the limiter and breaker gauges.
	release []func()
	// closed is closed by Close; closeOnce guards it.
	closed    chan struct{}
	closeOnce sync.Once
}

// errClosed is what a call gets from a closed Transport.
var errClosed = fmt.Errorf("sluice: transport closed: %w", limiter.ErrClosed)

// New builds the recommended stack over base, outermost first (the package
// documentation explains the order):
//
//	Meter → Retry → Breaker → Limit → Attempt → base
//
// New(nil) with no options is the default for the Anthropic and OpenAI APIs:
// limits learned from the providers' rate-limit headers, retries that obey
// Retry-After and x-should-retry, a breaker per host and model, usage
// metering from JSON and SSE responses, and telemetry through the global
// OpenTelemetry providers. A nil base is a clone of http.DefaultTransport
// that keeps up to 100 idle connections per host (the default of 2 makes a
// busy client reconnect all the time).
//
// WithRetry, WithLimit, WithBreaker and WithMeter set a layer's settings;
// WithoutMeter, WithoutRetry, WithoutBreaker, WithoutLimit and
// WithoutAttemptSpans leave one out; WithTelemetry and WithLogger apply to
// every layer.
// While the limiter is on, it keeps the cool-down after a 429 or 529, per
// API key and model, and the retry layer keeps none of its own. The
// package example shows how to wire the Transport into an SDK.
func New(base http.RoundTripper, opts ...Option) *Transport {
	if base == nil {
		base = defaultBase()
	}
	c := newConfig(opts)
	t := &Transport{base: base, closed: make(chan struct{})}
	c.closed = t.closed
	rt := base
	if !c.noAttempt {
		rt = newAttempt(rt, c)
	}
	if !c.noLimit {
		t.limiter, t.owned = c.limit.limiter()
		lt := newLimit(rt, c, t.limiter)
		t.release = append(t.release, lt.inst.unregister)
		rt = lt
	}
	if !c.noBreaker {
		b := newBreaker(rt, c)
		t.release = append(t.release, b.ins.unregister)
		rt = b
	}
	if !c.noRetry {
		// The limiter keeps the cool-down per API key and model (and shares
		// it through its Store); the retry layer's own would be redundant.
		rt = newRetry(rt, c, c.noLimit)
	}
	if !c.noMeter {
		rt = newMeter(rt, c)
	}
	t.rt = rt
	return t
}

// RoundTrip sends req through the stack. It follows the http.RoundTripper
// contract: a response body must be closed, and the limiter's concurrency
// slot for the call is held until it is.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.rt.RoundTrip(req)
}

// refuseClosed ends req with errClosed when closed is: the retry and limit
// layers send nothing once Transport.Close has been called, beneath the
// meter, so that the refused call is still measured. It closes the body,
// as a RoundTripper must.
func refuseClosed(closed <-chan struct{}, req *http.Request) error {
	select {
	case <-closed:
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return errClosed
	default:
		return nil
	}
}

// Limiter returns the limiter of the stack (for Stats), or nil when the
// limiter is off.
func (t *Transport) Limiter() *limiter.Limiter { return t.limiter }

// CloseIdleConnections closes the idle connections of the base transport;
// http.Client.CloseIdleConnections calls it.
func (t *Transport) CloseIdleConnections() {
	if ci, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// Close makes later calls fail with an error that matches
// limiter.ErrClosed (with the retry or the limit layer on), and releases
// the same way every call waiting in the stack: for a retry (a backoff, a server's Retry-After, a cool-down or
// the retry budget), for an open breaker, or in the limiter New built. It
// unregisters the stack's metric callbacks (its gauges are no longer
// reported, and nothing of the Transport stays reachable from the
// MeterProvider) and closes idle connections. A limiter passed in
// LimitSettings.Limiter is not closed (its owner closes it), so calls
// queued in it wait their turn. Calls already sent are not interrupted:
// a graceful shutdown stops sending new calls, waits for those in flight,
// then closes. Close is idempotent.
func (t *Transport) Close() error {
	t.closeOnce.Do(func() { close(t.closed) })
	var err error
	if t.owned && t.limiter != nil {
		err = t.limiter.Close()
	}
	for _, f := range t.release {
		f()
	}
	t.CloseIdleConnections()
	return err
}

func defaultBase() http.RoundTripper {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 100
	tr.IdleConnTimeout = 90 * time.Second
	return tr
}
