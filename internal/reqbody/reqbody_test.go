package reqbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

var cases = []struct {
	name string
	body string
	want Fields
	err  bool
}{
	{"anthropic", `{"max_tokens":1024,"messages":[{"role":"user","content":"hi \"there\" {[ ]}"}],"model":"claude-x","stream":true}`,
		Fields{Model: "claude-x", MaxTokens: 1024, Stream: true}, false},
	{"openai include_usage", `{"model":"gpt-4o","messages":[],"stream":true,"stream_options":{"include_usage":true},"max_completion_tokens":50}`,
		Fields{Model: "gpt-4o", MaxTokens: 50, Stream: true, IncludeUsage: true}, false},
	{"responses", `{"model":"gpt-4o","input":"x","max_output_tokens":7}`, Fields{Model: "gpt-4o", MaxTokens: 7}, false},
	{"escaped key and model", `{"mod\u0065l":"a\/b\u00e9\n","stream":false}`, Fields{Model: "a/bé\n"}, false},
	{"whitespace", " \n{ \"model\" : \"m\" , \"max_tokens\" : 3 }\n", Fields{Model: "m", MaxTokens: 3}, false},
	{"non-integer max_tokens ignored", `{"max_tokens":1.5,"model":"m"}`, Fields{Model: "m"}, false},
	{"negative max_tokens ignored", `{"max_tokens":-4}`, Fields{}, false},
	{"overflow ignored", `{"max_tokens":99999999999999999999}`, Fields{}, false},
	{"wrong types skipped", `{"model":5,"stream":"yes","stream_options":null,"max_tokens":"9"}`, Fields{}, false},
	{"nested model not top-level", `{"metadata":{"model":"inner"},"model":"outer"}`, Fields{Model: "outer"}, false},
	{"empty", `{}`, Fields{}, false},
	{"array", `[1,2]`, Fields{}, true},
	{"truncated", `{"model":"m","messages":[{"role":"us`, Fields{Model: "m"}, true},
	{"garbage", `hello`, Fields{}, true},
}

func TestExtract(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, mode := range []string{"bytes", "reader", "onebyte"} {
				var got Fields
				var err error
				switch mode {
				case "bytes":
					got, err = Extract([]byte(tc.body))
				case "reader":
					got, err = ExtractReader(strings.NewReader(tc.body))
				default:
					got, err = ExtractReader(iotest.OneByteReader(strings.NewReader(tc.body)))
				}
				want := tc.want
				want.Size = int64(len(tc.body))
				if (err != nil) != tc.err || (err != nil && !errors.Is(err, ErrNotJSON)) {
					t.Fatalf("%s: err = %v, want error %v", mode, err, tc.err)
				}
				if got != want {
					t.Fatalf("%s: got %+v, want %+v", mode, got, want)
				}
			}
		})
	}
}

func TestExtractReaderError(t *testing.T) {
	boom := errors.New("boom")
	_, err := ExtractReader(iotest.ErrReader(boom))
	if !errors.Is(err, boom) || !errors.Is(err, ErrNotJSON) {
		t.Fatalf("err = %v", err)
	}
}

func TestExtractAllocs(t *testing.T) {
	body := bigBody(1 << 20)
	if n := testing.AllocsPerRun(5, func() { _, _ = Extract(body) }); n > 1 {
		t.Fatalf("Extract of 1 MB allocates %v times, want ≤ 1 (the model string)", n)
	}
	if n := testing.AllocsPerRun(5, func() { _, _ = ExtractReader(bytes.NewReader(body)) }); n > 3 {
		t.Fatalf("ExtractReader of 1 MB allocates %v times, want O(1)", n)
	}
}

// bigBody is an Anthropic-shaped body of about n bytes, "stream" last as the
// SDKs send it.
func bigBody(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"max_tokens":1024,"messages":[`)
	text := strings.Repeat(`lorem ipsum \"dolor\" sit amet, {consectetur} [adipiscing] `, 16)
	for i := 0; b.Len() < n-200; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"role":"user","content":[{"type":"text","text":"` + text + `"}]}`)
	}
	b.WriteString(`],"model":"claude-sonnet-4-6","stream":true}`)
	return b.Bytes()
}

// reference decodes b with encoding/json: the oracle for the fuzzer.
// duplicateKeys reports whether the top-level object repeats a key, which
// JSON leaves undefined (encoding/json keeps the last, the scanner the
// last it can use).
func duplicateKeys(b []byte) bool {
	d := json.NewDecoder(bytes.NewReader(b))
	if _, err := d.Token(); err != nil {
		return false
	}
	seen := map[string]bool{}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return false
		}
		k, _ := t.(string)
		if seen[k] {
			return true
		}
		seen[k] = true
		var v json.RawMessage
		if d.Decode(&v) != nil {
			return false
		}
	}
	return false
}

// skipped reports whether the value of top-level key k is one the scanner
// skips, holding the string "cache_control" (as a key or a value).
func skipped(k string, v json.RawMessage) bool {
	switch {
	case k == "model" && v[0] == '"',
		(k == "max_tokens" || k == "max_completion_tokens" || k == "max_output_tokens") && (v[0] == '-' || v[0] >= '0' && v[0] <= '9'),
		k == "stream" && (v[0] == 't' || v[0] == 'f'):
		return false
	case k == "stream_options" && v[0] == '{':
		var so map[string]json.RawMessage
		_ = json.Unmarshal(v, &so)
		for sk, sv := range so {
			if !(sk == "include_usage" && (sv[0] == 't' || sv[0] == 'f')) && holds(sv) {
				return true
			}
		}
		return false
	}
	return holds(v)
}

// holds reports whether v holds the string "cache_control" anywhere.
func holds(v json.RawMessage) bool {
	var x any
	_ = json.Unmarshal(v, &x)
	var walk func(any) bool
	walk = func(x any) bool {
		switch x := x.(type) {
		case string:
			return x == "cache_control"
		case []any:
			for _, e := range x {
				if walk(e) {
					return true
				}
			}
		case map[string]any:
			for k, e := range x {
				if k == "cache_control" || walk(e) {
					return true
				}
			}
		}
		return false
	}
	return walk(x)
}

func reference(b []byte) (Fields, bool) {
	var top map[string]json.RawMessage
	if json.Unmarshal(b, &top) != nil || top == nil || duplicateKeys(b) {
		return Fields{}, false
	}
	f := Fields{Size: int64(len(b))}
	aliases := 0
	for k, v := range top {
		f.CacheControl = f.CacheControl || k == "cache_control" || skipped(k, v)
		switch k {
		case "model":
			var s string
			if v[0] == '"' && json.Unmarshal(v, &s) == nil {
				f.Model = s
			}
		case "max_tokens", "max_completion_tokens", "max_output_tokens":
			aliases++
			var n json.Number
			if v[0] != '"' && json.Unmarshal(v, &n) == nil {
				if x, err := n.Int64(); err == nil && x > 0 && !strings.ContainsAny(string(v), ".eE") {
					f.MaxTokens = x
				}
			}
		case "stream":
			f.Stream = string(v) == "true"
		case "stream_options":
			var so map[string]json.RawMessage
			if v[0] == '{' && json.Unmarshal(v, &so) == nil {
				f.IncludeUsage = string(so["include_usage"]) == "true"
			}
		}
	}
	return f, aliases <= 1
}

func FuzzExtract(f *testing.F) {
	for _, tc := range cases {
		f.Add([]byte(tc.body))
	}
	f.Add(bigBody(4096))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Extract(b)
		viaReader, rerr := ExtractReader(iotest.HalfReader(bytes.NewReader(b)))
		if got != viaReader || (err == nil) != (rerr == nil) {
			t.Fatalf("bytes %+v (%v) != reader %+v (%v)", got, err, viaReader, rerr)
		}
		if !json.Valid(b) || bytes.Contains(b, []byte(`\u`)) || !utf8.Valid(b) {
			return // the oracle and we may differ on invalid input and surrogates
		}
		want, comparable := reference(b)
		if !comparable {
			return
		}
		if bytes.TrimLeft(b, " \t\r\n")[0] == '{' && (err != nil || got != want) {
			t.Fatalf("Extract(%q) = %+v, %v; encoding/json says %+v", b, got, err, want)
		}
	})
}
