package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

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
// alone (OpenTelemetry no-op providers). The difference is what metering
// adds to reading the body for a user of the SDK; internal/usage's own
// benchmarks give the raw byte-level figures.
//
// A call through the SDK varies by more from one moment to the next than
// metering costs, so each iteration makes one bare and one metered call,
// in alternating order, and reports for each kind of call the median of
// its wall times ("bare-ns/call", "metered-ns/call", and "added-%"
// between them) and the means of its process CPU time, heap bytes and heap
// objects (client, in-process server and runtime). ns/op is the pair.
// BENCH_AA=1 meters neither call of a pair: the method's own spread (on
// 2 loaded cores about ±4 % for the stream in a 1 s run, which is why make
// bench gives it 3 s a round).
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
		b.Run(body, func(b *testing.B) {
			p := anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 1024,
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello"))}}
			ctx := context.Background()
			var clients [2]anthropic.Client // bare, metered
			for i := range clients {
				base := srv.Client().Transport.(*http.Transport).Clone()
				defer base.CloseIdleConnections()
				var rt http.RoundTripper = base
				if i == 1 && os.Getenv("BENCH_AA") == "" {
					rt = meter(base, noopTelemetry())
				}
				clients[i] = anthropic.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("sk-bench"),
					option.WithHTTPClient(&http.Client{Transport: rt}), option.WithMaxRetries(0))
			}
			var sides [2]callCosts
			call := func(i int) {
				defer sides[i].measure()()
				c := clients[i]
				if body == "json-10KB" {
					if _, err := c.Messages.New(ctx, p); err != nil {
						b.Fatal(err)
					}
					return
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
			b.SetBytes(int64(2 * len(mb.body)))
			for i := 0; b.Loop(); i++ {
				call(i % 2)
				call(1 - i%2)
			}
			bare, met := sides[0].median(), sides[1].median()
			b.ReportMetric(bare, "bare-ns/call")
			b.ReportMetric(met, "metered-ns/call")
			b.ReportMetric((met/bare-1)*100, "added-%")
			for i, side := range []string{"bare", "metered"} {
				n := float64(len(sides[i].wall))
				b.ReportMetric(float64(sides[i].cpu)/n, side+"-cpu-ns/call")
				b.ReportMetric(float64(sides[i].bytes)/n, side+"-B/call")
				b.ReportMetric(float64(sides[i].objects)/n, side+"-allocs/call")
			}
		})
		srv.Close()
	}
}

// callCosts adds up what calls of one kind cost.
type callCosts struct {
	wall           []time.Duration
	cpu            time.Duration
	bytes, objects uint64
}

// measure starts measuring a call and returns the func that ends it. The
// heap counts come from runtime.ReadMemStats, outside the timed part: it
// stops the world, but it is exact (runtime/metrics counts an object only
// when its span is handed back, so its per-call counts wander).
func (c *callCosts) measure() func() {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	b0, o0 := m.TotalAlloc, m.Mallocs
	cpu0, t0 := cpuTime(), time.Now()
	return func() {
		c.wall = append(c.wall, time.Since(t0))
		c.cpu += cpuTime() - cpu0
		runtime.ReadMemStats(&m)
		c.bytes += m.TotalAlloc - b0
		c.objects += m.Mallocs - o0
	}
}

func (c *callCosts) median() float64 {
	slices.Sort(c.wall)
	return float64(c.wall[len(c.wall)/2])
}
