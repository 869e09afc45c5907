package transport

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/sluicehq/sluice/telemetry"
)

// blockingStream is an SSE body that gives its first event, then blocks
// until closed. Nothing in it orders a Read against a Close, unlike
// net/http's bodies, so the race detector sees what the meter itself does.
type blockingStream struct {
	first  io.Reader
	closed chan struct{}
}

func (b *blockingStream) Read(p []byte) (int, error) {
	if n, _ := b.first.Read(p); n > 0 {
		return n, nil
	}
	<-b.closed
	return 0, io.ErrUnexpectedEOF
}

func (b *blockingStream) Close() error { close(b.closed); return nil }

// A stream's first chunk (on the reading goroutine) and a Close from
// another goroutine both end up in the meter, reading the call's
// attributes: run with -race. Tracing is off and metrics on, so neither the
// span nor RoundTrip has read the attributes before.
func TestMeterStreamCloseWhileReading(t *testing.T) {
	base := retryRTFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}}, Request: r,
			Body: &blockingStream{closed: make(chan struct{}), first: strings.NewReader(
				"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-x\",\"usage\":{\"input_tokens\":1}}}\n\n")}}, nil
	})
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	tel := WithTelemetry(telemetry.WithTracerProvider(tracenoop.NewTracerProvider()), telemetry.WithMeterProvider(mp))
	rt := New(base, tel, WithoutRetry(), WithoutBreaker())
	defer rt.Close()
	for range 5 {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, "https://api.anthropic.com/v1/messages",
			strings.NewReader(`{"model":"claude-x","stream":true}`))
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		read := make(chan struct{})
		go func() {
			defer close(read)
			_, _ = io.Copy(io.Discard, resp.Body)
		}()
		// No synchronisation with the reader on purpose: the race detector
		// must see the first chunk and the Close unordered.
		time.Sleep(5 * time.Millisecond)
		resp.Body.Close()
		<-read
	}
}
