// Package usage reads token usage from LLM API responses as they stream
// past, without buffering them: Anthropic and OpenAI JSON bodies and SSE
// streams.
//
// Placeholder API: the metering issue implements the scanners.
package usage

import (
	"io"

	"github.com/sluicehq/sluice/internal/provider"
)

// Usage is the token usage of one response.
type Usage struct {
	InputTokens              int64
	OutputTokens             int64
	CacheCreationInputTokens int64
	CacheReadInputTokens     int64
	ReasoningTokens          int64
	// ResponseModel is the model the response names, if seen.
	ResponseModel string
	// Known is false when the response carried no usage (for example an
	// OpenAI chat stream without stream_options.include_usage, or a stream
	// cut off before its usage arrived).
	Known bool
}

// NewReader wraps body so that usage is parsed as the caller reads it. done
// is called exactly once: at EOF with err == nil, on a read error with that
// error, or on Close before EOF with io.ErrUnexpectedEOF; u holds what was
// seen so far. contentType is the response's Content-Type
// (text/event-stream selects the SSE scanner).
func NewReader(body io.ReadCloser, kind provider.Kind, api provider.API, contentType string, done func(u Usage, err error)) io.ReadCloser {
	return &reader{body: body, done: done}
}

type reader struct {
	body   io.ReadCloser
	done   func(Usage, error)
	called bool
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.body.Read(p)
	if err != nil && !r.called {
		r.called = true
		if err == io.EOF {
			r.done(Usage{}, nil)
		} else {
			r.done(Usage{}, err)
		}
	}
	return n, err
}

func (r *reader) Close() error {
	err := r.body.Close()
	if !r.called {
		r.called = true
		r.done(Usage{}, io.ErrUnexpectedEOF)
	}
	return err
}
