package usage

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/provider"
)

// readAPI reads body through NewReader for api in n-byte pieces, closes
// it, and returns what done received and whether the reader skimmed.
func readAPI(t *testing.T, body, ct string, api provider.API, n int) (Usage, error, bool) {
	t.Helper()
	var u Usage
	var gotErr error
	calls := 0
	r := NewReader(io.NopCloser(&chunked{strings.NewReader(body), n}), provider.Anthropic, api, ct,
		func(v Usage, err error) { u, gotErr = v, err; calls++ })
	got, err := io.ReadAll(r)
	if err != nil || string(got) != body {
		t.Fatalf("body altered or read failed: %v", err)
	}
	r.Close()
	skimmed := r.(*reader).skimmed
	if calls != 1 {
		t.Fatalf("done called %d times", calls)
	}
	return u, gotErr, skimmed
}

// anthropicStream is a Messages stream of n text deltas of text.
func anthropicStream(n int, text string) string {
	q, _ := json.Marshal(text)
	var b strings.Builder
	b.WriteString("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-x\",\"usage\":{\"input_tokens\":397,\"cache_read_input_tokens\":5,\"output_tokens\":1}}}\n\n")
	b.WriteString("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":%s}}\n\n", q)
		if i%100 == 50 {
			b.WriteString("event: ping\ndata: {\"type\": \"ping\"}\n\n")
		}
	}
	b.WriteString("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n")
	fmt.Fprintf(&b, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":%d}}\n\n", n+1)
	b.WriteString("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	return b.String()
}

// chatStream is an include_usage chat stream of n content chunks.
func chatStream(n int, text string) string {
	q, _ := json.Marshal(text)
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%s},\"finish_reason\":null}],\"usage\":null}\n\n", q)
	}
	fmt.Fprintf(&b, "data: {\"id\":\"c\",\"model\":\"gpt-x\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":%d,\"prompt_tokens_details\":{\"cached_tokens\":3},\"completion_tokens_details\":{\"reasoning_tokens\":2}}}\n\ndata: [DONE]\n\n", n)
	return b.String()
}

// anthropicMessage is a Messages JSON body whose text is text n times.
func anthropicMessage(n int, text string) string {
	q, _ := json.Marshal(strings.Repeat(text, n))
	return `{"id":"msg_01","type":"message","role":"assistant","model":"claude-x","content":[{"type":"text","text":` + string(q) +
		`},{"type":"tool_use","id":"t","name":"f","input":{"usage":{"input_tokens":777}}}],"stop_reason":"end_turn","stop_sequence":null,` +
		`"usage":{"input_tokens":397,"cache_creation_input_tokens":12,"cache_read_input_tokens":30,"output_tokens":89,"output_tokens_details":{"thinking_tokens":20}}}`
}

// The texts the bodies are made of: plain, quote- and backslash-dense,
// and a text that looks like the usage the parser looks for.
var skimTexts = []string{"token ", `say "hi" \ `, `\\"usage\":{\"output_tokens\":5}}` + "\n\n\\", "\"}\n\nevent: message_delta\ndata: {\"usage\":{\"output_tokens\":9}}\n\n"}

// Skimming must find exactly what a full parse finds in the bodies the
// providers send, however long, however cut, with any line ends: the
// reader that skims (Messages, chat completions) against the one that
// parses every byte (any other API).
func TestSkimMatchesFullParse(t *testing.T) {
	type body struct {
		name, text, ct string
		api            provider.API
	}
	var bodies []body
	for ti, text := range skimTexts {
		for _, n := range []int{0, 1, 40, 2000} {
			a := anthropicStream(n, text)
			bodies = append(bodies,
				body{fmt.Sprintf("anthropic stream %d/%d", ti, n), a, sse, provider.APIMessages},
				body{fmt.Sprintf("anthropic stream crlf %d/%d", ti, n), strings.ReplaceAll(a, "\n", "\r\n"), sse, provider.APIMessages},
				body{fmt.Sprintf("anthropic stream cr %d/%d", ti, n), strings.ReplaceAll(a, "\n", "\r"), sse, provider.APIMessages},
				body{fmt.Sprintf("chat stream %d/%d", ti, n), chatStream(n, text), sse, provider.APIChatCompletions},
				body{fmt.Sprintf("anthropic json %d/%d", ti, n), anthropicMessage(n, text), "application/json", provider.APIMessages})
		}
	}
	long := 0
	for _, b := range bodies {
		for _, n := range []int{1, 7, 1000, 4096, 32 << 10} {
			if n == 1 && len(b.text) > 100<<10 {
				continue
			}
			want, wantErr, _ := readAPI(t, b.text, b.ct, provider.APIOther, n)
			got, gotErr, skimmed := readAPI(t, b.text, b.ct, b.api, n)
			if got != want || !errors.Is(gotErr, wantErr) || (wantErr == nil && gotErr != nil) {
				t.Fatalf("%s, %d-byte reads: skimmed %+v, %v\nfull    %+v, %v", b.name, n, got, gotErr, want, wantErr)
			}
			if !want.Known || wantErr != nil {
				t.Fatalf("%s: the full parse found no usage: %+v, %v", b.name, want, wantErr)
			}
			if len(b.text) > 3*tailKeep {
				if !skimmed {
					t.Fatalf("%s (%d bytes): not skimmed", b.name, len(b.text))
				}
				long++
			}
		}
	}
	if long == 0 {
		t.Fatal("no body was long enough to skim")
	}
}

// A body whose model comes late — keys in sorted order, as encoding/json
// writes a map, or a "model" string in the text before the real key — is
// parsed until the model is known and then skimmed: the same result as a
// full parse, model included.
func TestSkimModelLate(t *testing.T) {
	for _, n := range []int{0, 50, 2000} {
		q, _ := json.Marshal(strings.Repeat(`say "model" \ `, n))
		for name, body := range map[string]string{
			"sorted chat json": `{"choices":[{"finish_reason":"stop","index":0,"message":{"content":` + string(q) + `,"role":"assistant"}}],` +
				`"created":1,"id":"c","model":"gpt-late","object":"chat.completion","usage":{"completion_tokens":7,"prompt_tokens":9,` +
				`"prompt_tokens_details":{"cached_tokens":3}}}`,
			"model in the text": `{"id":"m","note":"model","content":[{"type":"text","text":` + string(q) + `}],"model":"claude-late",` +
				`"stop_reason":"end_turn","usage":{"input_tokens":4,"output_tokens":5}}`,
			"model in the text, long end": `{"id":"m","note":"model","content":` + string(q) + `,"model":"claude-late","content2":` + string(q) +
				`,"usage":{"input_tokens":4,"output_tokens":5}}`,
		} {
			for _, api := range []provider.API{provider.APIMessages, provider.APIChatCompletions} {
				for _, piece := range []int{1, 100, 4096} {
					want, wantErr, _ := readAPI(t, body, "application/json", provider.APIOther, piece)
					got, gotErr, _ := readAPI(t, body, "application/json", api, piece)
					if got != want || gotErr != wantErr {
						t.Fatalf("%s/%d, %d-byte reads: skimmed %+v, %v\nfull    %+v, %v", name, n, piece, got, gotErr, want, wantErr)
					}
					if !strings.HasSuffix(got.ResponseModel, "-late") || !got.Known {
						t.Fatalf("%s/%d: model %q, known %v", name, n, got.ResponseModel, got.Known)
					}
				}
			}
		}
	}
}

// A skimmed body cut short reads as one that was parsed whole and cut at
// the same place.
func TestSkimTruncated(t *testing.T) {
	stream := anthropicStream(2000, "token ")
	msg := anthropicMessage(500, "word ")
	cuts := []struct {
		name, body, ct string
		at             int
	}{
		{"stream in its deltas", stream, sse, len(stream) / 2},
		{"stream in message_delta", stream, sse, strings.Index(stream, `"output_tokens":2001`) + 17},
		{"stream before message_stop", stream, sse, strings.Index(stream, "event: message_stop")},
		{"json in its text", msg, "application/json", len(msg) / 2},
		{"json in its usage", msg, "application/json", strings.LastIndex(msg, `"output_tokens"`) + 5},
		{"json before its last brace", msg, "application/json", len(msg) - 1},
	}
	for _, c := range cuts {
		t.Run(c.name, func(t *testing.T) {
			want, wantErr, _ := readAPI(t, c.body[:c.at], c.ct, provider.APIOther, 4096)
			got, gotErr, _ := readAPI(t, c.body[:c.at], c.ct, provider.APIMessages, 4096)
			if got != want || !errors.Is(gotErr, wantErr) {
				t.Fatalf("skimmed %+v, %v\nfull    %+v, %v", got, gotErr, want, wantErr)
			}
			if !errors.Is(gotErr, ErrTruncated) {
				t.Fatalf("err = %v, want ErrTruncated", gotErr)
			}
		})
	}
}

// Closing a skimmed stream right after its final event, as the SDKs do, is
// not an error; closing it in the middle is.
func TestSkimCloseBeforeEOF(t *testing.T) {
	stream := anthropicStream(2000, "token ")
	for _, tt := range []struct {
		readTo  int
		wantErr error
	}{{len(stream), nil}, {len(stream) / 2, io.ErrUnexpectedEOF}} {
		var got Usage
		var gotErr error
		r := NewReader(io.NopCloser(strings.NewReader(stream)), provider.Anthropic, provider.APIMessages, sse,
			func(u Usage, err error) { got, gotErr = u, err })
		if _, err := io.ReadFull(r, make([]byte, tt.readTo)); err != nil {
			t.Fatal(err)
		}
		r.Close()
		if !errors.Is(gotErr, tt.wantErr) || (tt.wantErr == nil && (gotErr != nil || got.OutputTokens != 2001)) {
			t.Fatalf("read to %d: %+v, %v; want %v", tt.readTo, got, gotErr, tt.wantErr)
		}
	}
}

// The usage of a final event or JSON member longer than the tail is still
// found when it sits at the end of it, as it does in every provider body;
// one placed before a final member longer than the tail is not seen: the
// usage is unknown, the body complete.
func TestSkimLongFinalMember(t *testing.T) {
	pad := strings.Repeat("p", 3*tailKeep)
	head := "event: message_start\ndata: {\"message\":{\"model\":\"claude-x\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"
	u, err, _ := readAPI(t, head+"event: message_delta\ndata: {\"pad\":\""+pad+"\",\"usage\":{\"output_tokens\":4}}\n\nevent: message_stop\ndata: {}\n\n",
		sse, provider.APIMessages, 4096)
	if err != nil || u.OutputTokens != 4 || u.InputTokens != 3 {
		t.Fatalf("usage after a long member: %+v, %v", u, err)
	}
	u, err, _ = readAPI(t, `{"model":"m","content":"`+pad+`","usage":{"input_tokens":3,"output_tokens":4}}`, "application/json", provider.APIMessages, 4096)
	if err != nil || u.OutputTokens != 4 || u.ResponseModel != "m" {
		t.Fatalf("JSON usage after a long member: %+v, %v", u, err)
	}
	u, err, _ = readAPI(t, `{"model":"m","usage":{"input_tokens":3,"output_tokens":4},"content":"`+pad+`"}`, "application/json", provider.APIMessages, 4096)
	if err != nil || u.Known || u.ResponseModel != "m" {
		t.Fatalf("usage before a member longer than the tail: %+v, %v; want unknown usage, the model, no error", u, err)
	}
}

func TestJSONResume(t *testing.T) {
	tests := []struct {
		in   string
		want int // -1: none
	}{
		{`{"a":1,"b":2}`, -1}, // the document's start: b ends inside an object, not the document
		{`xx","a":1,"b":{"c":[1,"}"]}}`, 4},
		{`ab\","a":1}`, 5},     // the quote before "a" is escaped: a key at the start
		{`\\","a":1}`, 4},      // a backslash run at the start: stops there
		{`x\\\\","a":1}`, 7},   // an even run before the quote: it ends a string
		{`1,"a":1}   `, 2},     // trailing space
		{`1,"a":1`, -1},        // no closing brace
		{`1,"a":"x\"}`, -1},    // ends inside a string
		{`1],"a":{"b":1}}`, 3}, // the bracket closes a container before b
		{`1},"a":[1}`, -1},     // mismatched
		{`{"a":1,"b":2}}`, -1}, // keys one level down are not top-level keys
		{`zz,"a":1}`, 3},       // not JSON before the key: stops there
		{`"k":1,"a":1}`, 0},    // a key at the very start
		{`,"a"  :  1 }`, 1},
		{`"k":"` + strings.Repeat(`\"`, maxWalk/2) + `","a":1}`, 5 + maxWalk + 2}, // a string longer than maxWalk: "a" is the first key
		{`"k":"` + strings.Repeat(`\"`, maxWalk/2-4) + `","a":1}`, 0},
	}
	for _, tt := range tests {
		if at, _ := jsonResume([]byte(tt.in)); at != tt.want {
			t.Errorf("jsonResume(%q) = %d; want %d", tt.in, at, tt.want)
		}
	}
}

func TestLastQuote(t *testing.T) {
	for n := 0; n < 40; n++ {
		for q := -1; q < n; q++ {
			b := []byte(strings.Repeat("a\\\x22"[0:1], n))
			for i := range b {
				b[i] = byte('!' + i%90) // every byte but the quote, and some above 0x7f below
				if b[i] == '"' {
					b[i] = 0x80 | byte(i)
				}
			}
			if q >= 0 {
				b[q] = '"'
				if q > 0 {
					b[q-1] = '"' - 1 // a neighbour one below: a borrow would show
				}
			}
			if got := lastQuote(b); got != q {
				t.Fatalf("lastQuote(%q) = %d, want %d", b, got, q)
			}
		}
	}
}

// The tail keeps exactly the last tailKeep bytes, however the writes cut
// them.
func TestTailKeepsTheEnd(t *testing.T) {
	body := make([]byte, 3*tailKeep+123)
	for i := range body {
		body[i] = byte(i*7 + i/251)
	}
	// n < 0: writes of varied sizes, which move the window back at
	// different places.
	mixed := []int{1, 700, 3 * tailKeep, 5, tailKeep - 1, tailKeep, 90, tailKeep + 1, 1500, 2}
	for _, n := range []int{1, 5, 100, tailKeep - 1, tailKeep, tailKeep + 1, 2*tailKeep + 3, len(body), -1, -2, -3} {
		for _, size := range []int{0, 10, tailKeep, tailKeep + 1, 2 * tailKeep, 2*tailKeep + 1, len(body)} {
			var tl tail
			tl.buf[0] = 0xff // left over from an earlier body
			tl.reset()
			b := body[:size]
			for p, w := b, 0; len(p) > 0; w++ {
				k := n
				if n < 0 {
					k = mixed[(w-n)%len(mixed)]
				}
				k = min(k, len(p))
				tl.write(p[:k])
				p = p[k:]
			}
			got, whole := tl.bytes()
			want := b[max(0, len(b)-tailKeep):]
			if string(got) != string(want) || whole != (len(b) <= tailKeep) {
				t.Fatalf("%d-byte writes of %d bytes: kept %d bytes (whole %v), want the last %d", n, size, len(got), whole, len(want))
			}
		}
	}
}

// When a skimmed stream ends normally but its tail holds no usage — the
// final usage lay before the tail — the usage is unknown, not the
// placeholder message_start gave.
func TestSkimLostFinalUsageIsUnknown(t *testing.T) {
	head := "event: message_start\ndata: {\"message\":{\"model\":\"claude-x\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"
	pad := strings.Repeat("p", 3*tailKeep)
	body := head + "event: message_delta\ndata: {\"usage\":{\"output_tokens\":4},\"pad\":\"" + pad + "\"}\n\nevent: message_stop\ndata: {}\n\n"
	u, err, skimmed := readAPI(t, body, sse, provider.APIMessages, 4096)
	if !skimmed || err != nil || u.Known || u.OutputTokens != 0 || u.ResponseModel != "claude-x" {
		t.Fatalf("got %+v, %v (skimmed %v); want unknown usage, the model, no error", u, err, skimmed)
	}
	// The same stream cut before its end keeps what message_start said,
	// and says it was cut, as a full parse does.
	cut := body[:len(body)-40]
	u, err, _ = readAPI(t, cut, sse, provider.APIMessages, 4096)
	if !errors.Is(err, ErrTruncated) || !u.Known || u.InputTokens != 3 {
		t.Fatalf("cut: got %+v, %v; want message_start's usage and ErrTruncated", u, err)
	}
}
