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
// At the first byte of a stream it reports the time to first chunk; when
// ends is set (the limit layer beneath scans the body and publishes the
// usage in the call's state) it ends the call once, at EOF, on a read error
// or on Close, whichever comes first. Otherwise rc is a usage reader that
// ends the call itself.
type meterBody struct {
	rc     io.ReadCloser
	c      *meterCall
	stream bool // report the first chunk
	ends   bool // end the call from here
	first  atomic.Bool
	ended  atomic.Bool
}

func (b *meterBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && b.ends && b.ended.CompareAndSwap(false, true) {
		b.c.end()
	}
	if n > 0 && b.stream && !b.first.Load() && b.first.CompareAndSwap(false, true) {
		b.c.firstChunk()
	}
	return n, err
}

func (b *meterBody) Close() error {
	err := b.rc.Close()
	if b.ends && b.ended.CompareAndSwap(false, true) {
		b.c.end()
	}
	return err
}

// end ends a call whose body the limit layer scanned, with what it read.
func (c *meterCall) end() { c.done(c.cs.result()) }
