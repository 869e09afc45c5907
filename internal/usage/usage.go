// Package usage reads token usage from LLM API responses as they stream
// past, without buffering them: Anthropic and OpenAI JSON bodies and SSE
// streams.
//
// NewReader wraps a response body. A small state machine — an SSE event
// splitter feeding a JSON tokenizer that remembers only the path of keys
// it is in — picks the usage counts, the response model and a mid-stream
// error type out of the documents they sit in. Nothing is read ahead: the
// caller gets each byte as soon as the underlying body returns it, memory
// is a few kilobytes whatever the body's size or line length, and a steady
// stream of events allocates nothing. FirstEvent reads the first event of
// a stream with the same event splitter, for a caller that holds a stream
// back to see how it starts.
//
// Streams report cumulative usage (Anthropic's message_delta repeats the
// running totals), so for every count the last value seen wins. A value
// counts only when the event (or JSON body) that carries it is complete, so
// a stream cut in the middle of an event keeps what the earlier events said.
package usage

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode"

	"github.com/sluicehq/sluice/internal/provider"
	"github.com/sluicehq/sluice/internal/readmostly"
	"github.com/sluicehq/sluice/internal/validutf8"
)

// Usage is the token usage of one response, as the provider reported it.
type Usage struct {
	// InputTokens is Anthropic's input_tokens (which excludes cached
	// input) or OpenAI's prompt_tokens / input_tokens (which include it).
	// TotalInputTokens adds the cache counts where the provider leaves them
	// out.
	InputTokens  int64
	OutputTokens int64
	// CacheCreationInputTokens is Anthropic's cache_creation_input_tokens
	// or OpenAI's *_tokens_details.cache_write_tokens.
	CacheCreationInputTokens int64
	// CacheReadInputTokens is Anthropic's cache_read_input_tokens or
	// OpenAI's *_tokens_details.cached_tokens.
	CacheReadInputTokens int64
	// ReasoningTokens is OpenAI's *_tokens_details.reasoning_tokens or
	// Anthropic's output_tokens_details.thinking_tokens, a part of
	// OutputTokens.
	ReasoningTokens int64
	// ResponseModel is the model the response names, if seen.
	ResponseModel string
	// Known is false when the response carried no usage (for example an
	// OpenAI chat stream without stream_options.include_usage, or a stream
	// cut off before its usage arrived).
	Known bool

	// Provider is the provider the body came from.
	Provider provider.Kind
	// ErrorType is the error a successful (HTTP 200) response reported in
	// its body: the error.type of an Anthropic "event: error" or an OpenAI
	// error chunk (e.g. "overloaded_error"), or the error.code of an OpenAI
	// response.failed event. Empty when none.
	ErrorType string
	// Stream is true when the body was an SSE stream.
	Stream bool
}

// TotalInputTokens is every input token the request consumed, cached or
// not: Anthropic reports cache reads and writes beside input_tokens, OpenAI
// includes them in it.
func (u Usage) TotalInputTokens() int64 {
	if u.Provider == provider.Anthropic {
		return u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens
	}
	return u.InputTokens
}

// ErrTruncated is what done receives when a body ends cleanly (io.EOF) but
// before its final event (message_stop, [DONE], response.completed…) or in
// the middle of its JSON document: the server or a proxy cut it short. It
// wraps io.ErrUnexpectedEOF.
var ErrTruncated = fmt.Errorf("usage: body ended before its final event: %w", io.ErrUnexpectedEOF)

// NewReader wraps body so that usage is read as the caller reads it. done
// is called exactly once: at EOF with err == nil (or ErrTruncated when the
// body ended early), on a read error with that error, or on Close before
// EOF with io.ErrUnexpectedEOF — unless the body had already been read to
// its final event or the end of its JSON value, when err is nil; u holds
// what was seen so far. contentType is the response's Content-Type
// (text/event-stream selects the SSE scanner, anything else is scanned as
// one JSON document). kind is recorded in Usage.Provider. done may be nil.
//
// Read and Close may be called from different goroutines, as with any
// http.Response body.
func NewReader(body io.ReadCloser, kind provider.Kind, contentType string, done func(u Usage, err error)) io.ReadCloser {
	r := &reader{body: body, done: done, kind: kind, st: statePool.Get().(*scanState)}
	r.st.total.clear()
	if r.stream = IsEventStream(contentType); r.stream {
		r.sse = &r.st.sse // st.js is not used: a stream's events have their own
		r.sse.reset(&r.st.total)
	} else {
		r.st.js.reset()
	}
	return r
}

// scanState is what a reader reads with: about 3 KB with the SSE
// scanner's 2 KB event buffer, recycled through statePool (a busy client
// opens bodies all the time), so that metering a body allocates only the
// small reader. Only the parts a body uses are touched. A state goes back
// to the pool when its reader finishes; a finished reader never touches it
// again.
type scanState struct {
	js    jsonScanner // a JSON body's
	sse   sseScanner  // a stream's
	total tally
}

var statePool = sync.Pool{New: func() any { return new(scanState) }}

// IsEventStream reports whether the Content-Type ct names a server-sent
// event stream, ignoring case and leading white space. It allocates
// nothing: every response is classified by it.
func IsEventStream(ct string) bool {
	const es = "text/event-stream"
	ct = strings.TrimLeftFunc(ct, unicode.IsSpace)
	return len(ct) >= len(es) && strings.EqualFold(ct[:len(es)], es)
}

type reader struct {
	body   io.ReadCloser
	done   func(Usage, error)
	kind   provider.Kind
	stream bool

	mu       sync.Mutex // guards the fields below, between Read and Close
	finished bool
	sse      *sseScanner // streams only; nil once finished
	st       *scanState  // nil once finished
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.body.Read(p)
	r.mu.Lock()
	if err == nil && !r.finished {
		r.parse(p[:n]) // nearly every read: no defer
		r.mu.Unlock()
		return n, nil
	}
	defer r.mu.Unlock()
	if r.finished {
		return n, err
	}
	r.parse(p[:n])
	if err != nil {
		r.finish(err)
	}
	return n, err
}

// parse scans the next bytes of the body.
func (r *reader) parse(p []byte) {
	if r.stream {
		r.sse.feed(p)
		return
	}
	js := &r.st.js
	if js.state == stDone {
		return
	}
	js.feed(p)
	if js.complete() {
		r.st.total.merge(&js.staged) // once: feed ignores what follows
	}
}

func (r *reader) Close() error {
	err := r.body.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.finished {
		r.finish(r.closedEarly())
	}
	return err
}

// finish settles the usage and calls done once; mu is held.
func (r *reader) finish(err error) {
	r.finished = true
	if errors.Is(err, io.EOF) {
		err = r.endOfBody()
	}
	if r.done != nil {
		r.done(r.usage(), err)
	}
	r.sse = nil
	statePool.Put(r.st)
	r.st = nil
}

// closedEarly is the error of a Close before EOF: none when the body had
// already said all it had to say (its final event, or its whole JSON value),
// which is how SDKs that stop at message_stop or [DONE] close a stream.
func (r *reader) closedEarly() error {
	if (r.stream && r.sse.terminal) || (!r.stream && r.st.js.complete()) {
		return nil
	}
	return io.ErrUnexpectedEOF
}

// endOfBody decides whether a clean EOF ended the body where it should.
func (r *reader) endOfBody() error {
	if r.stream {
		r.sse.dispatch() // an event not followed by a blank line
		if !r.sse.terminal {
			return ErrTruncated
		}
		return nil
	}
	if r.st.js.complete() {
		return nil
	}
	if r.st.js.finish(); r.st.js.complete() { // a bare top-level number
		r.st.total.merge(&r.st.js.staged)
		return nil
	}
	if r.st.js.started && r.st.js.state != stBad {
		return ErrTruncated
	}
	return nil // empty, or not JSON at all: nothing to meter, nothing cut
}

func (r *reader) usage() Usage {
	t := &r.st.total
	u := Usage{
		InputTokens:              t.n[fieldInput],
		OutputTokens:             t.n[fieldOutput],
		CacheCreationInputTokens: t.n[fieldCacheCreation],
		CacheReadInputTokens:     t.n[fieldCacheRead],
		ReasoningTokens:          t.n[fieldReasoning],
		Known:                    t.seen&(1<<fieldInput|1<<fieldOutput) != 0,
		Provider:                 r.kind,
		Stream:                   r.stream,
	}
	if t.modelLen > 0 {
		u.ResponseModel = modelName(t.model[:t.modelLen])
	}
	if t.errLen > 0 {
		u.ErrorType = validutf8.String(t.errType[:t.errLen])
	}
	return u
}

// modelNames interns the response models seen: a handful per application,
// named by every response, so the name costs no allocation per body.
var modelNames = readmostly.New[string, string](256)

// modelName is validutf8.String through modelNames.
func modelName(b []byte) string {
	if s, ok := modelNames.Load(string(b)); ok {
		return s
	}
	return modelNames.Get(string(b), func() string { return validutf8.String(b) })
}
