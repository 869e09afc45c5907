package reqbody

import (
	"bytes"
	"strings"
	"testing"
)

func benchExtract(b *testing.B, n int, reader bool) {
	body := bigBody(n)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if reader {
			_, err = ExtractReader(bytes.NewReader(body))
		} else {
			_, err = Extract(body)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExtract1KB(b *testing.B)       { benchExtract(b, 1<<10, false) }
func BenchmarkExtract1MB(b *testing.B)       { benchExtract(b, 1<<20, false) }
func BenchmarkExtractReader1KB(b *testing.B) { benchExtract(b, 1<<10, true) }
func BenchmarkExtractReader1MB(b *testing.B) { benchExtract(b, 1<<20, true) }

// sdkRequest is a typical SDK request: the model first, one ~1 KB message.
var sdkRequest = []byte(`{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":"` +
	strings.Repeat("Summarise the following paragraph in one line. ", 19) + `"}]}`)

func BenchmarkExtractReaderSDK(b *testing.B) {
	b.SetBytes(int64(len(sdkRequest)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ExtractReader(bytes.NewReader(sdkRequest)); err != nil {
			b.Fatal(err)
		}
	}
}
