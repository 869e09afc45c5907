package usage

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/provider"
)

// scanPieces runs body through NewReader, cut every n bytes, and returns
// what done received.
func scanPieces(t *testing.T, body []byte, ct string, n int) (Usage, error) {
	t.Helper()
	var u Usage
	var gotErr error
	calls := 0
	r := NewReader(io.NopCloser(&chunked{strings.NewReader(string(body)), n}), provider.OpenAI, ct,
		func(v Usage, err error) { u, gotErr = v, err; calls++ })
	got, err := io.ReadAll(r)
	if err != nil || string(got) != string(body) {
		t.Fatalf("body altered or read failed: %v", err)
	}
	r.Close()
	if calls != 1 {
		t.Fatalf("done called %d times", calls)
	}
	return u, gotErr
}

// FuzzSSE feeds hostile event streams: the scanner must not panic, must
// call done once, and must not depend on how the bytes are cut.
func FuzzSSE(f *testing.F) {
	for _, s := range []string{anthropicSSE, openaiChatSSEUsage, openaiChatSSENoUsage, openaiResponsesSSE, anthropicSSEError,
		strings.ReplaceAll(anthropicSSE, "\n", "\r\n"), "data: [DONE]\r\r", "event:\x00\ndata\n\n", ":comment\ndata:{}\n\n\n"} {
		f.Add([]byte(s), uint8(1))
		f.Add([]byte(s), uint8(7))
	}
	f.Fuzz(func(t *testing.T, body []byte, cut uint8) {
		whole, wErr := scanPieces(t, body, sse, len(body)+1)
		piece, pErr := scanPieces(t, body, sse, int(cut%16)+1)
		if whole != piece || !errors.Is(pErr, wErr) {
			t.Fatalf("cut-dependent result:\nwhole %+v %v\npiece %+v %v", whole, wErr, piece, pErr)
		}
		// Lines that end in LF alone take the whole-line fast path; the
		// same stream with CRLF takes the field-by-field one. They must
		// agree.
		if !strings.ContainsRune(string(body), '\r') {
			crlf := []byte(strings.ReplaceAll(string(body), "\n", "\r\n"))
			slow, sErr := scanPieces(t, crlf, sse, int(cut%16)+1)
			if whole != slow || !errors.Is(sErr, wErr) {
				t.Fatalf("LF and CRLF disagree:\nLF   %+v %v\nCRLF %+v %v", whole, wErr, slow, sErr)
			}
		}
	})
}

// FuzzJSON checks the streaming parser against encoding/json: for every
// valid document it must find exactly the usage a full decode finds, with
// the two limits the parser documents modelled rather than skipped: a key
// or a captured string that holds an escape is not read (escapedKey,
// escapedStr), and a document deeper than maxDepth is given up.
func FuzzJSON(f *testing.F) {
	for _, s := range []string{anthropicJSON, openaiChatJSON, openaiResponsesJSON,
		`{"usage":{"input_tokens":1,"input_tokens":2}}`, `{"usage":null}`, `[{"usage":{}}]`, `{"usage":{"prompt_tokens":1e3}}`,
		`{"response":{"usage":{"output_tokens_details":{"reasoning_tokens":3}}}}`, `{"model":"a\"b"}`, `7`,
		`{"content":[{"text":"say \"hi\\\" \\"}],"usage":{"output_tokens":5}}`, `{"usa\u0067e":{"input_tokens":1}}`,
		`{"model":"m","model":"n\/o","usage":{"input_tokens":1}}`} {
		f.Add([]byte(s), uint8(3))
	}
	for _, d := range []int{maxDepth - 1, maxDepth} { // the deepest kept, the shallowest given up
		f.Add([]byte(`{"usage":{"input_tokens":1},"x":`+strings.Repeat("[", d)+strings.Repeat("]", d)+"}"), uint8(3))
	}
	f.Fuzz(func(t *testing.T, body []byte, cut uint8) {
		u, err := scanPieces(t, body, "application/json", int(cut%16)+1)
		if !json.Valid(body) {
			return // no oracle: done was called once, nothing panicked
		}
		if err != nil {
			t.Fatalf("valid document: err %v", err)
		}
		want := oracle(t, body)
		want.Provider, want.Stream = provider.OpenAI, false
		if u != want {
			t.Fatalf("\n got %+v\nwant %+v", u, want)
		}
	})
}

// escapedStr is a string value that held an escape: the parser captures no
// such string (a model name or error type with one is not read).
type escapedStr string

// escapedKey marks a key that held an escape, which the parser does not
// look up: no path of fields.go starts with it.
const escapedKey = "\\"

// decodeRaw decodes the next value of dec, which reads body, as
// json.Unmarshal into an any would (json.Number for numbers, the last of
// duplicate keys wins), except that a key or string written with an escape
// is marked (escapedKey, escapedStr), and depth returns how deep the value
// nests.
func decodeRaw(dec *json.Decoder, body []byte) (v any, depth int, err error) {
	at := dec.InputOffset()
	tok, err := dec.Token()
	if err != nil {
		return nil, 0, err
	}
	raw := body[at:dec.InputOffset()]
	switch tok := tok.(type) {
	case string:
		if bytes.IndexByte(raw, '\\') >= 0 {
			return escapedStr(tok), 0, nil
		}
		return tok, 0, nil
	case json.Delim:
		var m map[string]any
		var a []any
		if tok == '{' {
			m = map[string]any{}
		}
		for dec.More() {
			var k string
			if m != nil {
				kv, _, err := decodeRaw(dec, body)
				if err != nil {
					return nil, 0, err
				}
				switch kv := kv.(type) {
				case string:
					k = kv
				case escapedStr:
					k = escapedKey + string(kv)
				}
			}
			e, d, err := decodeRaw(dec, body)
			if err != nil {
				return nil, 0, err
			}
			depth = max(depth, d)
			if m != nil {
				m[k] = e
			} else {
				a = append(a, e)
			}
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, 0, err
		}
		if m != nil {
			return m, depth + 1, nil
		}
		return a, depth + 1, nil
	}
	return tok, 0, nil
}

// oracle decodes body fully with encoding/json and applies the paths of
// fields.go.
func oracle(t *testing.T, body []byte) Usage {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	doc, depth, err := decodeRaw(dec, body)
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	var u Usage
	if depth > maxDepth {
		return u // given up
	}
	var seen bool
	root, _ := doc.(map[string]any)
	str := func(m map[string]any, k string) (string, bool) {
		s, ok := m[k].(string)
		return s, ok && s != "" && len(s) <= maxCapture
	}
	if s, ok := str(root, "model"); ok {
		u.ResponseModel = s
	}
	if e, ok := root["error"].(map[string]any); ok {
		if s, ok := str(e, "type"); ok {
			u.ErrorType = s
		}
	}
	count := func(m map[string]any, k string, dst *int64, known bool) {
		n, ok := m[k].(json.Number)
		if !ok || strings.ContainsAny(string(n), ".eE-") {
			return
		}
		v, err := n.Int64()
		if err != nil || v < 0 || v > maxCount*10 {
			return
		}
		*dst = v
		if known {
			seen = true
		}
	}
	readUsage := func(us map[string]any) {
		count(us, "input_tokens", &u.InputTokens, true)
		count(us, "prompt_tokens", &u.InputTokens, true)
		count(us, "output_tokens", &u.OutputTokens, true)
		count(us, "completion_tokens", &u.OutputTokens, true)
		count(us, "cache_creation_input_tokens", &u.CacheCreationInputTokens, false)
		count(us, "cache_read_input_tokens", &u.CacheReadInputTokens, false)
		for _, d := range []string{"prompt_tokens_details", "input_tokens_details"} {
			if m, ok := us[d].(map[string]any); ok {
				count(m, "cached_tokens", &u.CacheReadInputTokens, false)
				count(m, "cache_write_tokens", &u.CacheCreationInputTokens, false)
			}
		}
		for _, d := range []string{"completion_tokens_details", "output_tokens_details"} {
			if m, ok := us[d].(map[string]any); ok {
				count(m, "reasoning_tokens", &u.ReasoningTokens, false)
				count(m, "thinking_tokens", &u.ReasoningTokens, false)
			}
		}
	}
	if us, ok := root["usage"].(map[string]any); ok {
		readUsage(us)
	}
	for _, w := range []string{"message", "response"} {
		if m, ok := root[w].(map[string]any); ok {
			if s, ok := str(m, "model"); ok {
				u.ResponseModel = s
			}
			if us, ok := m["usage"].(map[string]any); ok {
				readUsage(us)
			}
			if w == "response" {
				if e, ok := m["error"].(map[string]any); ok {
					if s, ok := str(e, "code"); ok {
						u.ErrorType = s
					}
				}
			}
		}
	}
	u.Known = seen
	return u
}
