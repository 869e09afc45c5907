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
// stream of events allocates nothing.
//
// Messages and chat-completions bodies are skimmed (skim.go): their head
// is parsed as it passes, up to the model; of the rest only the last 2 KB
// are kept, and parsed at the end of the body. Everything the meter reads
// sits in those two places, and the completion text between costs a copy,
// not a parse. Any other body goes through the state machine byte by byte
// as it is read.
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
// one JSON document). kind is recorded in Usage.Provider. api selects
// skimming: Messages and chat-completions bodies are skimmed, the others
// (Responses, whose events repeat the whole response) parsed byte by byte;
// every endpoint uses the paths of providers.md §4. done may be nil.
//
// Read and Close may be called from different goroutines, as with any
// http.Response body.
func NewReader(body io.ReadCloser, kind provider.Kind, api provider.API, contentType string, done func(u Usage, err error)) io.ReadCloser {
	r := &reader{body: body, done: done, kind: kind, st: statePool.Get().(*scanState)}
	r.st.total.clear()
	r.st.tail.reset()
	r.head = api == provider.APIMessages || api == provider.APIChatCompletions
	if r.stream = IsEventStream(contentType); r.stream {
		r.sse = &r.st.sse // st.js is not used: a stream's events have their own
		r.sse.reset(&r.st.total)
		r.sse.headOnly = r.head
	} else {
		r.st.js.reset()
		r.st.js.headOnly = r.head
	}
	return r
}

// scanState is what a reader reads with: about 7.5 KB with the tail of a
// skimmed body and the SSE scanner's 2 KB event buffer, recycled through
// statePool (a busy client opens bodies all the time), so that metering a
// body allocates only the small reader. Only the parts a body uses are
// touched. A state goes back to the pool when its reader finishes; a
// finished reader never touches it again.
type scanState struct {
	js    jsonScanner // a JSON body's
	sse   sseScanner  // a stream's
	total tally
	tail  tail // a skimmed body's last bytes
}

// endHead lets the scanner read past the head.
func (r *reader) endHead() {
	if r.stream {
		r.sse.headOnly = false
	} else {
		r.st.js.headOnly = false
	}
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
	head     bool        // a body to skim, in its head: reads are parsed until it ends (skim.go)
	skim     bool        // a skimmed body past its head: reads only keep its bytes until its end
	skimmed  bool        // bytes were dropped between its head and its tail
	sse      *sseScanner // streams only; nil once finished
	st       *scanState  // nil once finished
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.body.Read(p)
	r.mu.Lock()
	if err == nil && !r.finished {
		r.take(p[:n]) // nearly every read: no defer
		r.mu.Unlock()
		return n, nil
	}
	defer r.mu.Unlock()
	if r.finished {
		return n, err
	}
	r.take(p[:n])
	if err != nil {
		r.finish(err)
	}
	return n, err
}

// take handles the bytes a read returned: a skimmed body's head is
// parsed, the rest only kept; any other body is parsed.
func (r *reader) take(p []byte) {
	switch {
	case len(p) == 0:
	case r.skim:
		r.st.tail.write(p)
	case r.head:
		// The scanner stops where the head ends; when that is the end of
		// p, it stops at the start of the next piece.
		if n := r.parse(p); n < len(p) {
			r.head, r.skim = false, true
			r.endHead()
			r.st.tail.write(p[n:])
		}
	default:
		r.parse(p)
	}
}

// parse scans the next bytes of the body and returns how many it read:
// all of them, unless the end of a skimmed body's head stopped it.
func (r *reader) parse(p []byte) int {
	if r.stream {
		return r.sse.feed(p)
	}
	js := &r.st.js
	if js.state == stDone {
		return len(p)
	}
	n := js.feed(p)
	if js.complete() {
		r.st.total.merge(&js.staged) // once: feed ignores what follows
	}
	return n
}

// catchUp parses what was kept of a skimmed body, all at once at its end:
// everything after the head when nothing was dropped, or from the first
// place the tail can be resumed at otherwise.
func (r *reader) catchUp() {
	if !r.skim {
		return
	}
	r.skim = false
	rest, whole := r.st.tail.bytes()
	r.skimmed = !whole
	if whole {
		r.parse(rest)
		return
	}
	r.st.total.given = 0 // what the tail says: see finish
	if r.stream {
		r.sse.resume(rest)
		return
	}
	js := &r.st.js
	at, clean := jsonResume(rest)
	switch {
	case at >= 0:
		js.resumeObject()
		r.parse(rest[at:])
	case clean:
		// The document ends well, in a member longer than the tail:
		// complete, with what the head staged.
		js.state = stDone
		r.st.total.merge(&js.staged)
	}
	// Otherwise the body reads as cut where the head ended.
}

func (r *reader) Close() error {
	err := r.body.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.finished {
		r.catchUp() // before closedEarly, which asks whether the body was whole
		r.finish(r.closedEarly())
	}
	return err
}

// finish settles the usage and calls done once; mu is held.
func (r *reader) finish(err error) {
	r.finished = true
	r.catchUp()
	if errors.Is(err, io.EOF) {
		err = r.endOfBody()
	}
	if r.skimmed && r.stream && err == nil && r.st.total.given&(1<<fieldInput|1<<fieldOutput) == 0 && r.st.total.errLen == 0 {
		// A skimmed stream that ended normally states its final usage in
		// its tail (message_delta, the include_usage chunk). None was read
		// there, so it lay where skimming does not look: what the head
		// said (message_start's placeholder output count) is not the
		// call's usage. Unknown, not a wrong count. (A JSON body's head
		// never counts: its values are merged when the document ends.)
		r.st.total.n, r.st.total.seen = [nFields]int64{}, 0
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
