package transport

import (
	"io"
	"sync/atomic"

	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// noopSpan is the call span when the TracerProvider is OpenTelemetry's
// no-op one and the caller's context holds no recording span. It is boxed
// in the interface once: tracenoop.Span is too big to convert for free.
var noopSpan trace.Span = tracenoop.Span{}

// meterBody is the response body the meter hands back. It lives inside its
// meterCall, so wrapping the body costs no allocation of its own (two
// wrappers and two closures before: 4 allocations per streamed call).
//
// At the first byte of a stream it reports the time to first chunk. When
// tap is set — the body beneath is the limit layer's, which reads the usage
// already — it ends the call once, with the usage tap read, at EOF, on a
// read error or on Close, whichever comes first. Otherwise rc is a usage
// reader that ends the call itself.
type meterBody struct {
	rc     io.ReadCloser
	c      *meterCall
	tap    *settleBody
	stream bool // report the first chunk
	first  atomic.Bool
	ended  atomic.Bool
}

func (b *meterBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && b.tap != nil && b.ended.CompareAndSwap(false, true) {
		b.c.done(b.tap.result())
	}
	if n > 0 && b.stream && !b.first.Load() && b.first.CompareAndSwap(false, true) {
		b.c.firstChunk()
	}
	return n, err
}

func (b *meterBody) Close() error {
	err := b.rc.Close()
	if b.tap != nil && b.ended.CompareAndSwap(false, true) {
		b.c.done(b.tap.result())
	}
	return err
}

// settleBodyOf returns the limit layer's body that body gives the caller
// byte for byte, or nil when there is none. It looks through the wrappers
// the stack itself puts between the limit layer and the meter, each of
// which passes on every byte of the body it wraps, in order, and ends when
// that body ends: the retry layer's peek (peekedBody) and its attempt
// timeout (cancelOnClose). Any other body — one a layer between replaced —
// is the meter's to scan.
func settleBodyOf(body io.ReadCloser) *settleBody {
	for {
		switch b := body.(type) {
		case *settleBody:
			return b
		case *peekedBody:
			body = b.orig
		case *cancelOnClose:
			body = b.ReadCloser
		default:
			return nil
		}
	}
}
