package usage

import (
	"errors"
	"io"
	"testing"

	"github.com/sluicehq/sluice/internal/provider"
)

// hostileResult is what done received, how often, and the bytes allocated.
type hostileResult struct {
	u     Usage
	err   error
	calls int
	grown uint64
}

// hostileRead reads body to its end through NewReader in 32 KiB reads.
func hostileRead(t *testing.T, body *endless, ct string) hostileResult {
	t.Helper()
	var (
		got   Usage
		err   error
		calls int
	)
	buf := make([]byte, 32<<10)
	body.Read(nil) // the generator's block is not the scanner's
	grown := heapGrowth(func() {
		r := NewReader(io.NopCloser(body), provider.Anthropic, ct,
			func(u Usage, e error) { got, err = u, e; calls++ })
		for {
			if _, e := r.Read(buf); e != nil {
				break
			}
		}
		r.Close()
	})
	return hostileResult{got, err, calls, grown}
}

// Bodies built to hurt a streaming parser — huge bodies without usage,
// nesting far past its depth, a 10 MB key, number, event name or comment,
// millions of empty events, a flood of NULs — are read to the end without
// panic and in constant memory, done is called once, and the usage after
// the junk (where there is any) is still found.
func TestHostileBodies(t *testing.T) {
	big := int64(256 << 20)
	if testing.Short() {
		big = 16 << 20
	}
	const tenMB = 10 << 20
	finalSSE := []byte("\n\nevent: message_delta\ndata: {\"usage\":{\"input_tokens\":3,\"output_tokens\":4}}\n\nevent: message_stop\ndata: {}\n\n")
	want := Usage{InputTokens: 3, OutputTokens: 4, Known: true, Stream: true}
	tests := []struct {
		name    string
		body    *endless
		ct      string
		want    Usage
		wantErr error
	}{
		{"JSON without usage", &endless{head: []byte(`{"content":[{"text":"`), fill: 'a', n: big, tail: []byte(`"}]}`)},
			"application/json", Usage{}, nil},
		{"SSE without usage", &endless{head: []byte("event: content_block_delta\ndata: {\"delta\":\""), fill: 'a', n: big,
			tail: []byte("\"}\n\nevent: message_stop\ndata: {}\n\n")}, sse, Usage{Stream: true}, nil},
		{"nesting a million deep", &endless{head: []byte(`{"x":`), fill: '[', n: 1 << 20,
			tail: []byte(`]}`)}, "application/json", Usage{}, nil}, // past maxDepth the document is given up
		{"10 MB key before the usage", &endless{head: []byte(`{"`), fill: 'k', n: tenMB,
			tail: []byte(`":1,"usage":{"input_tokens":3,"output_tokens":4}}`)}, "application/json",
			Usage{InputTokens: 3, OutputTokens: 4, Known: true}, nil},
		{"10 MB number as a count", &endless{head: []byte(`{"usage":{"input_tokens":`), fill: '9', n: tenMB,
			tail: []byte(`,"output_tokens":4}}`)}, "application/json", Usage{OutputTokens: 4, Known: true}, nil},
		{"10 MB event name", &endless{head: []byte("event: "), fill: 'e', n: tenMB, tail: finalSSE}, sse, want, nil},
		{"10 MB comment line", &endless{head: []byte(": "), fill: 'c', n: tenMB, tail: finalSSE}, sse, want, nil},
		{"millions of empty events", &endless{head: []byte("data: {}"), fill: '\n', n: tenMB, tail: finalSSE}, sse, want, nil},
		{"a flood of NULs", &endless{head: []byte("data: "), fill: 0, n: tenMB, tail: finalSSE}, sse, want, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := hostileRead(t, tt.body, tt.ct)
			got, err, calls, grown := res.u, res.err, res.calls, res.grown
			tt.want.Provider = provider.Anthropic
			if calls != 1 {
				t.Fatalf("done called %d times, want once", calls)
			}
			if got != tt.want || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("got %+v, %v\nwant %+v, %v", got, err, tt.want, tt.wantErr)
			}
			if grown > 64<<10 {
				t.Errorf("allocated %d KB, want a small constant", grown>>10)
			}
		})
	}
}
