// Package reqbody reads the few top-level fields of an LLM request body that
// the layers need — model, max_tokens, stream, stream_options.include_usage —
// without decoding the rest (the messages array can be megabytes).
package reqbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
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
}

// ErrNotJSON reports a body that is not a JSON object.
var ErrNotJSON = errors.New("reqbody: body is not a JSON object")

// Extract scans b for Fields.
//
// TODO(limiter issue): replace with a scanner that skips values without
// allocating; this version uses encoding/json tokens.
func Extract(b []byte) (Fields, error) {
	f := Fields{Size: int64(len(b))}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	t, err := dec.Token()
	if err != nil || t != json.Delim('{') {
		return f, ErrNotJSON
	}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return f, ErrNotJSON
		}
		key, _ := kt.(string)
		switch key {
		case "model":
			var s string
			if dec.Decode(&s) == nil {
				f.Model = s
			}
		case "max_tokens", "max_completion_tokens", "max_output_tokens":
			var n json.Number
			if dec.Decode(&n) == nil {
				if v, err := n.Int64(); err == nil && v > 0 {
					f.MaxTokens = v
				}
			}
		case "stream":
			var v bool
			if dec.Decode(&v) == nil {
				f.Stream = v
			}
		case "stream_options":
			var so struct {
				IncludeUsage bool `json:"include_usage"`
			}
			if dec.Decode(&so) == nil {
				f.IncludeUsage = so.IncludeUsage
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				if errors.Is(err, io.ErrUnexpectedEOF) {
					return f, ErrNotJSON
				}
				return f, ErrNotJSON
			}
		}
	}
	return f, nil
}
