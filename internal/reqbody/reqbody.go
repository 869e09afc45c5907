// Package reqbody reads the few top-level fields of an LLM request body that
// the layers need — model, max_tokens, stream, stream_options.include_usage —
// without decoding the rest (the messages array can be megabytes).
//
// The scanner is hand-written rather than encoding/json because it must skip
// values without allocating and, through ExtractReader, read a body of any
// size with a fixed 4 KB buffer: encoding/json's Decoder buffers a whole
// value (the messages array) before it can skip it.
package reqbody

import (
	"errors"
	"io"
	"sync"
)

// Fields are the request-body fields sluice acts on. Zero values mean absent.
type Fields struct {
	Model string
	// MaxTokens is max_tokens (Anthropic, OpenAI chat),
	// max_completion_tokens (OpenAI chat) or max_output_tokens (OpenAI
	// Responses), whichever is present.
	MaxTokens int64
	Stream    bool
	// IncludeUsage is stream_options.include_usage (OpenAI chat streams).
	IncludeUsage bool
	// Size is the body length in bytes.
	Size int64
	// CacheControl is set when the body holds a "cache_control" key (or
	// string) anywhere: Anthropic prompt caching may apply, and
	// CachePrefixes is worth its cost.
	CacheControl bool
}

// ErrNotJSON reports a body that is not a JSON object.
var ErrNotJSON = errors.New("reqbody: body is not a JSON object")

// Extract scans b for Fields. It allocates only the model string, and reads
// every top-level key (the SDKs append "stream":true as the last one).
// Values it does not need are skipped, not validated: a body that is not
// well-formed JSON may yield partial Fields and ErrNotJSON.
func Extract(b []byte) (Fields, error) {
	s := scanner{buf: b}
	f, err := s.object()
	f.Size, f.CacheControl = int64(len(b)), s.cache
	return f, err
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 4096); return &b }}

// ExtractReader is Extract over a stream, reading it to EOF with one pooled
// 4 KB buffer: O(1) memory whatever the body's size. Size counts the bytes
// read. Read errors other than io.EOF are returned wrapped.
func ExtractReader(r io.Reader) (Fields, error) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	s := scanner{r: r, store: *bp}
	f, err := s.object()
	if s.err == nil { // count what follows the object
		n, cerr := io.CopyBuffer(io.Discard, r, s.store)
		s.consumed += n
		if cerr != nil {
			s.err = cerr
		}
	}
	f.Size, f.CacheControl = s.consumed+int64(len(s.buf)), s.cache
	if s.err != nil && s.err != io.EOF {
		return f, errors.Join(ErrNotJSON, s.err)
	}
	return f, err
}
