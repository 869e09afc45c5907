package usage

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/provider"
)

// chunked returns at most n bytes per Read, to cut documents everywhere.
type chunked struct {
	r io.Reader
	n int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(p) > c.n {
		p = p[:c.n]
	}
	return c.r.Read(p)
}

type result struct {
	u     Usage
	err   error
	calls int
}

// readAll reads body through NewReader in n-byte pieces and returns what
// done received.
func readAll(t *testing.T, body, ct string, kind provider.Kind, n int) result {
	t.Helper()
	var res result
	r := NewReader(io.NopCloser(&chunked{strings.NewReader(body), n}), kind, ct,
		func(u Usage, err error) { res.u, res.err = u, err; res.calls++ })
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	if string(got) != body {
		t.Fatalf("body altered: got %d bytes, want %d", len(got), len(body))
	}
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if res.calls != 1 {
		t.Fatalf("done called %d times, want 1", res.calls)
	}
	return res
}

const sse = "text/event-stream; charset=utf-8"

func TestUsageFormats(t *testing.T) {
	tests := []struct {
		name string
		body string
		ct   string
		kind provider.Kind
		want Usage
	}{
		{"anthropic json", anthropicJSON, "application/json", provider.Anthropic, Usage{
			InputTokens: 397, OutputTokens: 89, CacheCreationInputTokens: 12, CacheReadInputTokens: 30, ReasoningTokens: 20,
			ResponseModel: "claude-sonnet-4-5-20250929", Known: true, Provider: provider.Anthropic}},
		{"anthropic sse", anthropicSSE, sse, provider.Anthropic, Usage{
			InputTokens: 397, OutputTokens: 89, CacheReadInputTokens: 50,
			ResponseModel: "claude-sonnet-4-5-20250929", Known: true, Provider: provider.Anthropic, Stream: true}},
		{"openai chat json", openaiChatJSON, "application/json", provider.OpenAI, Usage{
			InputTokens: 1117, OutputTokens: 46, CacheReadInputTokens: 1024, ReasoningTokens: 7,
			ResponseModel: "gpt-4o-2024-08-06", Known: true, Provider: provider.OpenAI}},
		{"openai chat sse include_usage", openaiChatSSEUsage, "text/event-stream", provider.OpenAI, Usage{
			InputTokens: 9, OutputTokens: 12, ResponseModel: "gpt-4o-mini-2024-07-18", Known: true, Provider: provider.OpenAI, Stream: true}},
		{"openai chat sse without usage is unknown", openaiChatSSENoUsage, "text/event-stream", provider.OpenAI, Usage{
			ResponseModel: "gpt-4o-mini-2024-07-18", Known: false, Provider: provider.OpenAI, Stream: true}},
		{"openai responses json", openaiResponsesJSON, "application/json", provider.OpenAI, Usage{
			InputTokens: 36, OutputTokens: 87, CacheReadInputTokens: 4, ReasoningTokens: 11,
			ResponseModel: "gpt-4.1-2025-04-14", Known: true, Provider: provider.OpenAI}},
		{"openai responses sse", openaiResponsesSSE, "text/event-stream", provider.OpenAI, Usage{
			InputTokens: 36, OutputTokens: 87, CacheReadInputTokens: 4, ReasoningTokens: 11,
			ResponseModel: "gpt-4.1-2025-04-14", Known: true, Provider: provider.OpenAI, Stream: true}},
		{"anthropic sse error event", anthropicSSEError, sse, provider.Anthropic, Usage{
			InputTokens: 10, OutputTokens: 1, ResponseModel: "claude-x", Known: true, Provider: provider.Anthropic,
			ErrorType: "overloaded_error", Stream: true}},
		{"crlf line ends", strings.ReplaceAll(anthropicSSE, "\n", "\r\n"), sse, provider.Anthropic, Usage{
			InputTokens: 397, OutputTokens: 89, CacheReadInputTokens: 50,
			ResponseModel: "claude-sonnet-4-5-20250929", Known: true, Provider: provider.Anthropic, Stream: true}},
		{"cr line ends", strings.ReplaceAll(openaiChatSSEUsage, "\n", "\r"), sse, provider.OpenAI, Usage{
			InputTokens: 9, OutputTokens: 12, ResponseModel: "gpt-4o-mini-2024-07-18", Known: true, Provider: provider.OpenAI, Stream: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, n := range []int{1, 2, 3, 7, 64, 1 << 20} {
				res := readAll(t, tt.body, tt.ct, tt.kind, n)
				if res.err != nil {
					t.Fatalf("chunk %d: err = %v, want nil", n, res.err)
				}
				if res.u != tt.want {
					t.Fatalf("chunk %d:\n got %+v\nwant %+v", n, res.u, tt.want)
				}
			}
		})
	}
}

func TestTotalInputTokens(t *testing.T) {
	a := Usage{Provider: provider.Anthropic, InputTokens: 10, CacheCreationInputTokens: 5, CacheReadInputTokens: 100}
	o := Usage{Provider: provider.OpenAI, InputTokens: 110, CacheReadInputTokens: 100}
	if a.TotalInputTokens() != 115 || o.TotalInputTokens() != 110 {
		t.Fatalf("TotalInputTokens: anthropic %d, openai %d", a.TotalInputTokens(), o.TotalInputTokens())
	}
}

func TestTruncatedStreamKeepsWhatItSaw(t *testing.T) {
	// Cut in the middle of the final message_delta: message_start counts,
	// the half event does not.
	cut := strings.Index(anthropicSSE, `"output_tokens":89`) + len(`"output_tokens":8`)
	res := readAll(t, anthropicSSE[:cut], sse, provider.Anthropic, 5)
	if !errors.Is(res.err, ErrTruncated) || !errors.Is(res.err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want ErrTruncated", res.err)
	}
	if !res.u.Known || res.u.InputTokens != 397 || res.u.OutputTokens != 40 {
		t.Fatalf("usage = %+v, want input 397 and the last complete output 40", res.u)
	}
}

func TestTruncatedJSON(t *testing.T) {
	res := readAll(t, anthropicJSON[:len(anthropicJSON)-3], "application/json", provider.Anthropic, 64)
	if !errors.Is(res.err, ErrTruncated) || res.u.Known {
		t.Fatalf("got %+v, %v; want unknown usage and ErrTruncated", res.u, res.err)
	}
}

func TestNotJSONIsNotAnError(t *testing.T) {
	res := readAll(t, "<html>bad gateway</html>", "text/html", provider.Anthropic, 64)
	if res.err != nil || res.u.Known {
		t.Fatalf("got %+v, %v; want unknown usage and no error", res.u, res.err)
	}
}

type errBody struct{ err error }

func (e errBody) Read([]byte) (int, error) { return 0, e.err }

func TestReadErrorIsPassedOn(t *testing.T) {
	boom := errors.New("connection reset")
	var got error
	calls := 0
	r := NewReader(io.NopCloser(io.MultiReader(strings.NewReader(anthropicSSE[:400]), errBody{boom})),
		provider.Anthropic, sse, func(u Usage, err error) { got = err; calls++ })
	if _, err := io.ReadAll(r); !errors.Is(err, boom) {
		t.Fatalf("ReadAll err = %v", err)
	}
	r.Close()
	if !errors.Is(got, boom) || calls != 1 {
		t.Fatalf("done got %v after %d calls, want %v once", got, calls, boom)
	}
}

func TestCloseBeforeEOF(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		ct      string
		readTo  int
		wantErr error
	}{
		{"mid stream", anthropicSSE, sse, 300, io.ErrUnexpectedEOF},
		{"after final event", openaiChatSSEUsage, sse, len(openaiChatSSEUsage), nil},
		{"after whole JSON value", anthropicJSON, "application/json", len(anthropicJSON), nil},
		{"mid JSON", anthropicJSON, "application/json", 100, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got error
			calls := 0
			r := NewReader(io.NopCloser(strings.NewReader(tt.body)), provider.Anthropic, tt.ct,
				func(u Usage, err error) { got = err; calls++ })
			if _, err := io.ReadFull(r, make([]byte, tt.readTo)); err != nil {
				t.Fatal(err)
			}
			r.Close()
			r.Close()
			if calls != 1 || !errors.Is(got, tt.wantErr) || (tt.wantErr == nil && got != nil) {
				t.Fatalf("done: %v after %d calls, want %v once", got, calls, tt.wantErr)
			}
		})
	}
}

func TestHostileInputs(t *testing.T) {
	tests := []struct {
		name string
		body string
		ct   string
		want Usage
	}{
		{"deep nesting", strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100), "application/json", Usage{}},
		{"usage in a string value", `{"x":"\"usage\":{\"input_tokens\":5}"}`, "application/json", Usage{}},
		{"escaped backslash before quote", `{"x":"a\\","usage":{"input_tokens":5}}`, "application/json", Usage{InputTokens: 5, Known: true}},
		{"negative and float counts ignored", `{"usage":{"input_tokens":-5,"output_tokens":1.5}}`, "application/json", Usage{}},
		{"huge count ignored", `{"usage":{"input_tokens":99999999999999999999999}}`, "application/json", Usage{}},
		{"key with escape is not a usage key", `{"usage":{"input\u005ftokens":5}}`, "application/json", Usage{}},
		{"usage at the wrong depth", `{"choices":[{"usage":{"prompt_tokens":5}}]}`, "application/json", Usage{}},
		{"mismatched brackets", `{"usage":{"input_tokens":5]}`, "application/json", Usage{}},
		{"event data not JSON", "data: {\"usage\":{\"prompt_tokens\":5}\n\ndata: [DONE]\n\n", sse, Usage{Stream: true}},
		{"event split over data lines", "data: {\"usage\":\ndata: {\"prompt_tokens\":5}}\n\ndata: [DONE]\n\n", sse, Usage{InputTokens: 5, Known: true, Stream: true}},
		{"unnamed data with irrelevant event name", "event: content_block_delta\ndata: {\"usage\":{\"input_tokens\":5}}\n\nevent: message_stop\ndata: {}\n\n", sse, Usage{Stream: true}},
		{"long model name dropped", `{"model":"` + strings.Repeat("m", 200) + `"}`, "application/json", Usage{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := readAll(t, tt.body, tt.ct, provider.Unknown, 3)
			tt.want.Provider = provider.Unknown
			if res.u != tt.want {
				t.Fatalf("\n got %+v\nwant %+v", res.u, tt.want)
			}
		})
	}
}
