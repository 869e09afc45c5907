package usage

import (
	"bytes"
	"io"
	"runtime"
	"testing"

	"github.com/sluicehq/sluice/internal/provider"
)

// endless yields head, then n bytes of fill, then tail, without holding the
// body in memory.
type endless struct {
	head, tail []byte
	fill       byte
	block      []byte
	n          int64
}

func (e *endless) Read(p []byte) (int, error) {
	if len(e.head) > 0 {
		k := copy(p, e.head)
		e.head = e.head[k:]
		return k, nil
	}
	if e.n > 0 {
		if int64(len(p)) > e.n {
			p = p[:e.n]
		}
		if len(e.block) == 0 {
			e.block = bytes.Repeat([]byte{e.fill}, 32<<10)
		}
		p = p[:copy(p, e.block)]
		e.n -= int64(len(p))
		return len(p), nil
	}
	if len(e.tail) > 0 {
		k := copy(p, e.tail)
		e.tail = e.tail[k:]
		return k, nil
	}
	return 0, io.EOF
}

// heapGrowth returns how many bytes were allocated while f ran.
func heapGrowth(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestBoundedMemory(t *testing.T) {
	size := int64(1 << 30) // 1 GB
	if testing.Short() {
		size = 64 << 20
	}
	tests := []struct {
		name string
		body *endless
		ct   string
		want Usage
	}{
		{"1 GB JSON body", &endless{
			head: []byte(`{"model":"claude-x","content":[{"type":"text","text":"`), fill: 'a', n: size,
			tail: []byte(`"}],"usage":{"input_tokens":3,"output_tokens":4}}`)},
			"application/json", Usage{InputTokens: 3, OutputTokens: 4, ResponseModel: "claude-x", Known: true}},
		{"10 MB SSE data line", &endless{
			head: []byte("event: message_start\ndata: {\"message\":{\"model\":\"claude-x\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n" +
				"event: message_delta\ndata: {\"pad\":\""), fill: 'b', n: 10 << 20,
			tail: []byte("\",\"usage\":{\"output_tokens\":4}}\n\nevent: message_stop\ndata: {}\n\n")},
			sse, Usage{InputTokens: 3, OutputTokens: 4, ResponseModel: "claude-x", Known: true, Stream: true}},
		{"10 MB line of an unknown field", &endless{
			head: []byte("x-junk: "), fill: 'c', n: 10 << 20,
			tail: []byte("\ndata: {\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}\n\ndata: [DONE]\n\n")},
			sse, Usage{InputTokens: 3, OutputTokens: 4, Known: true, Stream: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Usage
			var gotErr error
			buf := make([]byte, 32<<10)
			tt.body.Read(nil) // allocate the generator's block outside the measurement
			grown := heapGrowth(func() {
				r := NewReader(io.NopCloser(tt.body), provider.Anthropic, tt.ct,
					func(u Usage, err error) { got, gotErr = u, err })
				for {
					if _, err := r.Read(buf); err != nil {
						break
					}
				}
			})
			tt.want.Provider = provider.Anthropic
			if gotErr != nil || got != tt.want {
				t.Fatalf("got %+v, %v\nwant %+v", got, gotErr, tt.want)
			}
			if grown > 64<<10 {
				t.Fatalf("reading allocated %d bytes; want a small fixed amount", grown)
			}
		})
	}
}

func TestNoAllocationsPerEvent(t *testing.T) {
	events := []byte(openaiChatSSEHead + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"x\"}}\n\n" +
		"event: message_delta\ndata: {\"usage\":{\"output_tokens\":40}}\n\n")
	var total tally
	s := sseScanner{total: &total}
	allocs := testing.AllocsPerRun(100, func() { s.feed(events) })
	if allocs != 0 {
		t.Fatalf("%v allocations per batch of events, want 0", allocs)
	}
	if total.n[fieldOutput] != 40 {
		t.Fatalf("scanner did not read the events: %+v", total)
	}
}
