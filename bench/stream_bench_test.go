package bench

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sseEvent renders one Anthropic SSE event.
func sseEvent(name, data string) string { return "event: " + name + "\ndata: " + data + "\n\n" }

var (
	streamStart = sseEvent("message_start", `{"type":"message_start","message":{"id":"msg_bench","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"usage":{"input_tokens":412,"output_tokens":1}}}`) +
		sseEvent("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
	streamDelta = sseEvent("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"`+strings.Repeat("lorem ipsum ", 80)+`"}}`)
	streamEnd   = sseEvent("content_block_stop", `{"type":"content_block_stop","index":0}`) +
		sseEvent("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":187}}`) +
		sseEvent("message_stop", `{"type":"message_stop"}`)
	// streamChunk is 64 KB of deltas, written again and again for long
	// streams so the server's own memory stays flat.
	streamChunk = []byte(strings.Repeat(streamDelta, 64<<10/len(streamDelta)))
)

// streamHandler answers with an SSE stream of about ?bytes=N bytes (default
// one chunk): the first event is flushed at once, as the API does.
func streamHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		size, _ := strconv.Atoi(r.URL.Query().Get("bytes"))
		h := w.Header()
		h.Set("Content-Type", "text/event-stream; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		h.Set("request-id", "req_bench0000000002")
		rateHeaders(h)
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, streamStart)
		w.(http.Flusher).Flush()
		for sent := 0; sent < max(size, 1); sent += len(streamChunk) {
			if _, err := w.Write(streamChunk); err != nil {
				return
			}
		}
		_, _ = io.WriteString(w, streamEnd)
	})
}

var streamRequestJSON = bytes.Replace(requestJSON, []byte(`"max_tokens":1024,`), []byte(`"max_tokens":1024,"stream":true,`), 1)

// streamCases are the set-ups of the streaming benchmarks: bare and the
// full stack (nil when pending).
func streamCases() []struct {
	name  string
	build func(base http.RoundTripper) http.RoundTripper
} {
	var full func(http.RoundTripper) http.RoundTripper
	if l := layers[layerNew]; l != nil {
		full = func(base http.RoundTripper) http.RoundTripper { return l(base, noopTelemetry()) }
	}
	return []struct {
		name  string
		build func(base http.RoundTripper) http.RoundTripper
	}{
		{"bare", func(base http.RoundTripper) http.RoundTripper { return base }},
		{"sluice-noop", full},
	}
}

// BenchmarkTTFB measures the time from RoundTrip to the first byte of a
// streamed body, reported as ttfb-ns; ns/op is the whole short stream.
func BenchmarkTTFB(b *testing.B) {
	srv := httptest.NewServer(streamHandler())
	defer srv.Close()
	for _, c := range streamCases() {
		b.Run(c.name, func(b *testing.B) {
			if c.build == nil {
				b.Skip("pending: transport.New not on main")
			}
			base := newBase()
			defer base.CloseIdleConnections()
			rt := c.build(base)
			defer closeRT(rt)
			firstByte(b, rt, srv.URL)
			var total time.Duration
			b.ReportAllocs()
			for b.Loop() {
				total += firstByte(b, rt, srv.URL)
			}
			b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "ttfb-ns")
		})
	}
}

// firstByte sends one streaming request and returns how long its first
// body byte took; it then reads the rest.
func firstByte(b *testing.B, rt http.RoundTripper, url string) time.Duration {
	req := newMessageRequest(url, streamRequestJSON)
	t0 := time.Now()
	resp, err := rt.RoundTrip(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var one [1]byte
	if _, err := io.ReadFull(resp.Body, one[:]); err != nil {
		b.Fatal(err)
	}
	d := time.Since(t0)
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkStreamHeap streams 10 MB and 100 MB through each set-up and
// reports the largest growth of the live heap (measured after a GC every
// 8 MB) over the heap before the request: O(1) memory means the two sizes
// show the same growth.
func BenchmarkStreamHeap(b *testing.B) {
	srv := httptest.NewServer(streamHandler())
	defer srv.Close()
	for _, c := range streamCases() {
		for _, mb := range []int{10, 100} {
			b.Run(fmt.Sprintf("%s/%dMB", c.name, mb), func(b *testing.B) {
				if c.build == nil {
					b.Skip("pending: transport.New not on main")
				}
				base := newBase()
				defer base.CloseIdleConnections()
				rt := c.build(base)
				defer closeRT(rt)
				defer closeRT(rt)
				var peak uint64
				b.SetBytes(int64(mb) << 20)
				for b.Loop() {
					peak = max(peak, streamHeap(b, rt, srv.URL, mb<<20))
				}
				b.ReportMetric(float64(peak)/1024, "heap-growth-KB")
			})
		}
	}
}

func streamHeap(b *testing.B, rt http.RoundTripper, url string, size int) uint64 {
	live := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := live()
	req := newMessageRequest(url, streamRequestJSON)
	req.URL.RawQuery = "bytes=" + strconv.Itoa(size)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var peak uint64
	buf := make([]byte, 32<<10)
	n := 0
	for next := 0; ; {
		k, err := resp.Body.Read(buf)
		n += k
		if n >= next {
			if l := live(); l > before {
				peak = max(peak, l-before)
			}
			next += 8 << 20
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	if n < size {
		b.Fatalf("streamed %d bytes, want %d", n, size)
	}
	return peak
}
