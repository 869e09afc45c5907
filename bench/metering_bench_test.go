package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
)

// meteringBodies are what BenchmarkMeteringSDK serves: the same 10 KB
// message and 1 000-event stream as internal/usage's benchmarks.
var meteringBodies = map[string]struct {
	ct   string
	body string
}{
	"json-10KB": {"application/json", `{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5",` +
		`"content":[{"type":"text","text":"` + strings.Repeat(`Lorem ipsum dolor sit amet, \"quoted\" words. `, 220) + `"}],` +
		`"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":397,"cache_creation_input_tokens":0,` +
		`"cache_read_input_tokens":0,"output_tokens":2400}}`},
	"stream-1000-events": {"text/event-stream", meteringStream(1000)},
}

func meteringStream(n int) string {
	var b strings.Builder
	b.WriteString(sseEvent("message_start", `{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"usage":{"input_tokens":397,"output_tokens":1}}}`))
	b.WriteString(sseEvent("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`))
	for i := range n - 5 {
		b.WriteString(sseEvent("content_block_delta", fmt.Sprintf(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"token %d "}}`, i)))
	}
	b.WriteString(sseEvent("content_block_stop", `{"type":"content_block_stop","index":0}`))
	b.WriteString(sseEvent("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":997}}`))
	b.WriteString(sseEvent("message_stop", `{"type":"message_stop"}`))
	return b.String()
}

// BenchmarkMeteringSDK reads the bodies the way an application does:
// through anthropic-sdk-go (Messages.New, or NewStreaming and every event
// decoded), over loopback, with the bare transport and with transport.Meter
// alone (OpenTelemetry no-op providers). The two rows swap places with
// BENCH_ROUND, as BenchmarkOverhead's do. The difference is what metering
// adds to reading the body for a user of the SDK; internal/usage's own
// benchmarks give the raw byte-level figures.
func BenchmarkMeteringSDK(b *testing.B) {
	meter := layers[layerMeter]
	if meter == nil {
		b.Skip("transport.Meter is not built in")
	}
	for _, body := range []string{"json-10KB", "stream-1000-events"} {
		mb := meteringBodies[body]
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", mb.ct)
			_, _ = w.Write([]byte(mb.body))
		}))
		for _, setup := range rotate([]string{"bare", "metered"}) {
			b.Run(body+"/"+setup, func(b *testing.B) {
				base := srv.Client().Transport.(*http.Transport).Clone()
				defer base.CloseIdleConnections()
				var rt http.RoundTripper = base
				if setup == "metered" {
					rt = meter(base, noopTelemetry())
				}
				c := anthropic.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("sk-bench"),
					option.WithHTTPClient(&http.Client{Transport: rt}), option.WithMaxRetries(0))
				p := anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 1024,
					Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello"))}}
				ctx := context.Background()
				b.SetBytes(int64(len(mb.body)))
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := cpuTime()
				defer func() { b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op") }()
				for b.Loop() {
					if body == "json-10KB" {
						if _, err := c.Messages.New(ctx, p); err != nil {
							b.Fatal(err)
						}
						continue
					}
					s := c.Messages.NewStreaming(ctx, p)
					n := 0
					for s.Next() {
						n++
					}
					if err := s.Err(); err != nil || n != 1000 {
						b.Fatalf("%d events, err %v", n, err)
					}
					s.Close()
				}
			})
		}
		srv.Close()
	}
}
