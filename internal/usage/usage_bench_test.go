package usage

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/pairbench"
	"github.com/sluicehq/sluice/internal/provider"
)

// benchJSON is a 10 KB Anthropic Messages response.
var benchJSON = []byte(`{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5",` +
	`"content":[{"type":"text","text":"` + strings.Repeat(`Lorem ipsum dolor sit amet, \"quoted\" words. `, 220) + `"}],` +
	`"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":397,"cache_creation_input_tokens":0,` +
	`"cache_read_input_tokens":0,"output_tokens":2400}}`)

// benchStream builds an Anthropic stream of n events.
func benchStream(n int) []byte {
	var b bytes.Buffer
	b.WriteString("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-sonnet-4-5\",\"usage\":{\"input_tokens\":397,\"output_tokens\":1}}}\n\n")
	for i := 0; i < n-3; i++ {
		fmt.Fprintf(&b, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"token %d \"}}\n\n", i)
	}
	b.WriteString("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":997}}\n\n")
	b.WriteString("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	return b.Bytes()
}

// benchChatStream builds an OpenAI chat stream of n chunks: no event names,
// so every chunk is parsed.
func benchChatStream(n int) []byte {
	var b bytes.Buffer
	for i := 0; i < n-2; i++ {
		fmt.Fprintf(&b, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"token %d \"},\"finish_reason\":null}],\"usage\":null}\n\n", i)
	}
	b.WriteString(`data: {"id":"chatcmpl-1","model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":998}}` + "\n\ndata: [DONE]\n\n")
	return b.Bytes()
}

// benchRead reads body in 4 KB reads, through a reader metering it when
// meter is set.
func benchRead(b *testing.B, body []byte, ct string, meter bool) {
	buf := make([]byte, 4096) // net/http's bufio size: what an SDK read sees
	src := bytes.NewReader(body)
	var sink Usage
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(body)
		var r io.ReadCloser = io.NopCloser(src)
		if meter {
			r = NewReader(r, provider.Anthropic, ct, func(u Usage, err error) { sink = u })
		}
		for {
			if _, err := r.Read(buf); err != nil {
				break
			}
		}
		r.Close()
	}
	if meter && !sink.Known {
		b.Fatal("no usage read")
	}
}

func BenchmarkJSON10KB(b *testing.B) {
	b.Run("bare", func(b *testing.B) { benchRead(b, benchJSON, "application/json", false) })
	b.Run("metered", func(b *testing.B) { benchRead(b, benchJSON, "application/json", true) })
}

func BenchmarkSSE1000Events(b *testing.B) {
	anthropic, chat := benchStream(1000), benchChatStream(1000)
	b.Run("anthropic/bare", func(b *testing.B) { benchRead(b, anthropic, sse, false) })
	b.Run("anthropic/metered", func(b *testing.B) { benchRead(b, anthropic, sse, true) })
	b.Run("openai-chat/bare", func(b *testing.B) { benchRead(b, chat, sse, false) })
	b.Run("openai-chat/metered", func(b *testing.B) { benchRead(b, chat, sse, true) })
}

// BenchmarkHTTP reads the same bodies from a loopback HTTP server, as a
// RoundTripper sees them: the overhead that matters is relative to this.
// Every body is read twice over: over plain HTTP (the rows named after the
// body), the cheapest read there is and so the harshest baseline, and over
// TLS ("tls/…"), as every provider serves its API: the same read with the
// decryption any real response costs.
// A loopback call varies by tens of percent from one moment to the next on
// a shared machine, more than metering costs, so each iteration makes one
// bare call and one metered call, in alternating order, and the figures
// are the medians of the calls' own times: "bare-ns/call" and
// "metered-ns/call", and "added-%" between them, beside the mean process
// CPU time of each kind of call (client, in-process server and runtime).
// ns/op is the pair. USAGE_BENCH_AA=1 meters neither call of a pair: the
// method's own bias, which should be within a percent of zero.
//
//	go test -run '^$' -bench HTTP -benchtime 2s ./internal/usage
func BenchmarkHTTP(b *testing.B) {
	bodies := map[string][]byte{"json-10KB": benchJSON, "anthropic-1000-events": benchStream(1000), "openai-chat-1000-events": benchChatStream(1000)}
	for _, row := range []string{"json-10KB", "anthropic-1000-events", "openai-chat-1000-events",
		"tls/json-10KB", "tls/anthropic-1000-events", "tls/openai-chat-1000-events"} {
		name, tls := strings.CutPrefix(row, "tls/")
		body := bodies[name]
		ct := sse
		if name == "json-10KB" {
			ct = "application/json"
		}
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ct)
			w.Write(body)
		}))
		if tls {
			srv.StartTLS()
		} else {
			srv.Start()
		}
		b.Run(row, func(b *testing.B) {
			buf := make([]byte, 4096)
			var cpu [2]time.Duration
			var calls float64 // of each kind
			call := func(meter bool) time.Duration {
				c0 := cpuNow()
				defer func() {
					if meter {
						cpu[1] += cpuNow() - c0
					} else {
						cpu[0] += cpuNow() - c0
						calls++
					}
				}()
				start := time.Now()
				resp, err := srv.Client().Get(srv.URL)
				if err != nil {
					b.Fatal(err)
				}
				r := resp.Body
				if meter {
					r = NewReader(r, provider.Anthropic, ct, nil)
				}
				for {
					if _, err := r.Read(buf); err != nil {
						break
					}
				}
				r.Close()
				return time.Since(start)
			}
			metering := os.Getenv("USAGE_BENCH_AA") == ""
			b.ReportAllocs()
			mb, mm := pairbench.Loop(b, func() time.Duration { return call(false) }, func() time.Duration { return call(metering) }, nil)
			b.ReportMetric(float64(mb), "bare-ns/call")
			b.ReportMetric(float64(mm), "metered-ns/call")
			b.ReportMetric((float64(mm)/float64(mb)-1)*100, "added-%")
			b.ReportMetric(float64(cpu[0])/calls, "bare-cpu-ns/call")
			b.ReportMetric(float64(cpu[1])/calls, "metered-cpu-ns/call")
		})
		srv.Close()
	}
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkScanDocuments scans the small JSON documents a stream's usage
// sits in — message_start, a chat chunk, an include_usage chunk,
// message_delta — with the JSON scanner alone: bytes per second of dense
// JSON.
func BenchmarkScanDocuments(b *testing.B) {
	docs := [][]byte{
		[]byte(`{"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":397,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}`),
		[]byte(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"token 0 "},"finish_reason":null}],"usage":null}`),
		[]byte(`{"id":"chatcmpl-1","model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":998,"total_tokens":1007,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0}}}`),
		[]byte(`{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":997}}`),
	}
	n := 0
	for _, d := range docs {
		n += len(d)
	}
	b.SetBytes(int64(n))
	var s jsonScanner
	for b.Loop() {
		for _, d := range docs {
			s.reset()
			s.feed(d)
			if !s.complete() || (s.staged.seen == 0 && s.staged.modelLen == 0) {
				b.Fatalf("%s: not read", d)
			}
		}
	}
}
