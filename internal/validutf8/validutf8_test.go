package validutf8

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestString(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"claude-sonnet-4-5", "claude-sonnet-4-5"},
		{"gpt-\xff\xfe", "gpt-\uFFFD\uFFFD"}, // one U+FFFD per byte, not per run
		{"a\xe2\x82", "a\uFFFD\uFFFD"},       // a cut sequence
		{"é€😀", "é€😀"},
	} {
		if got := String([]byte(c.in)); got != c.want {
			t.Errorf("String(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzString checks String against encoding/json, which is how the SDKs
// read a name out of a body: for any bytes a JSON string can hold
// unescaped, the repair is the decoder's.
func FuzzString(f *testing.F) {
	for _, s := range []string{"gpt-4o", "x\xff", "\xe2\x82\xac\xe2\x82", "\xed\xa0\x80"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := String(b)
		if !utf8.ValidString(got) {
			t.Fatalf("String(%q) = %q: not valid UTF-8", b, got)
		}
		if bytes.ContainsAny(b, "\"\\") || bytes.ContainsFunc(b, func(r rune) bool { return r < 0x20 }) {
			return // not a JSON string's raw bytes
		}
		var want string
		if err := json.Unmarshal([]byte(`"`+string(b)+`"`), &want); err != nil {
			t.Fatalf("json: %v", err)
		}
		if got != want {
			t.Fatalf("String(%q) = %q, encoding/json reads %q", b, got, want)
		}
	})
}

func BenchmarkStringValid(b *testing.B) {
	name := []byte("claude-sonnet-4-5-20250929")
	b.ReportAllocs()
	for b.Loop() {
		_ = String(name)
	}
}
