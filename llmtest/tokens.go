package llmtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// CountTokens is the fake's tokenizer: one token per four bytes of text,
// rounded up (ceil(len(text)/4)). The server counts a request's input as
// CountTokens of all its counted text concatenated — for Anthropic the tool
// definitions (their JSON without cache_control), the system prompt and
// every message's string content or text blocks — so tests can predict
// usage, the limiter's estimates and the ITPM charge exactly.
func CountTokens(text string) int {
	return (len(text) + 3) / 4
}

// call is what the server needs from a request body.
type call struct {
	Model        string
	MaxTokens    int  // 0 when absent
	HasMaxTokens bool // max_tokens (or its OpenAI names) was sent
	Stream       bool //
	IncludeUsage bool // OpenAI stream_options.include_usage
	// InputTokens is the whole input: cached, written and uncached.
	InputTokens int
	// Breakpoints are the Anthropic cache_control breakpoints, in order.
	Breakpoints []breakpoint
	bounds      []boundary // the prefix at every block, for cache lookups
	// cache is what the prompt cache made of the breakpoints at admission.
	cache cacheUse
}

// uncached is the usage's input_tokens: the input after the last cache
// breakpoint that was read or written.
func (c call) uncached() int { return c.InputTokens - c.cache.read - c.cache.creation }

// errBadRequest wraps every request-body problem; its message is sent to
// the client as an invalid_request_error.
var errBadRequest = errors.New("invalid request")

// content is a message content: a string or a list of blocks, of which
// text blocks count.
type content struct{ text string }

func (c *content) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		c.text = s
		return nil
	}
	var blocks []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(b, &blocks); err != nil {
		return err
	}
	var sb strings.Builder
	for _, bl := range blocks {
		switch bl.Type {
		case "text", "input_text", "output_text":
			sb.WriteString(bl.Text)
		}
	}
	c.text = sb.String()
	return nil
}

// chatBody is the union of the Anthropic Messages and OpenAI Chat
// Completions / Responses request fields the fake reads.
type chatBody struct {
	Model               string            `json:"model"`
	Tools               []json.RawMessage `json:"tools"`
	MaxTokens           *int              `json:"max_tokens"`
	MaxCompletionTokens *int              `json:"max_completion_tokens"`
	MaxOutputTokens     *int              `json:"max_output_tokens"`
	Stream              bool              `json:"stream"`
	System              *content          `json:"system"`
	Instructions        string            `json:"instructions"`
	Input               *input            `json:"input"`
	Messages            []struct {
		Role    string  `json:"role"`
		Content content `json:"content"`
	} `json:"messages"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

// input is the Responses API input: a string or a list of messages.
type input struct{ text string }

func (in *input) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		in.text = s
		return nil
	}
	var items []struct {
		Content content `json:"content"`
	}
	if err := json.Unmarshal(b, &items); err != nil {
		return err
	}
	var sb strings.Builder
	for _, it := range items {
		sb.WriteString(it.Content.text)
	}
	in.text = sb.String()
	return nil
}

// parseCall reads a request body for endpoint ep.
func parseCall(body []byte, ep endpoint) (call, error) {
	// Anthropic Messages rule: max_tokens is required.
	needMaxTokens := ep == epMessages
	anthropicBody := ep == epMessages || ep == epCountTokens
	var b chatBody
	if err := json.Unmarshal(body, &b); err != nil {
		return call{}, fmt.Errorf("%w: body is not valid JSON: %v", errBadRequest, err)
	}
	c := call{Model: b.Model, Stream: b.Stream}
	if b.Model == "" {
		return c, fmt.Errorf("%w: model: Field required", errBadRequest)
	}
	for _, p := range []*int{b.MaxTokens, b.MaxCompletionTokens, b.MaxOutputTokens} {
		if p == nil {
			continue
		}
		// Anthropic accepts max_tokens 0 (pre-warming the prompt cache
		// without generating); OpenAI wants at least 1.
		if *p < 0 || (*p == 0 && !needMaxTokens) {
			return c, fmt.Errorf("%w: max_tokens: must be at least 1", errBadRequest)
		}
		c.MaxTokens, c.HasMaxTokens = *p, true
	}
	if needMaxTokens && !c.HasMaxTokens {
		return c, fmt.Errorf("%w: max_tokens: Field required", errBadRequest)
	}
	if b.StreamOptions != nil {
		c.IncludeUsage = b.StreamOptions.IncludeUsage
	}
	if anthropicBody && bytes.Contains(body, []byte(`"cache_control"`)) {
		// The structured walk: the same count, plus the breakpoints.
		n, bps, bounds, err := walkPrompt(body)
		if err != nil {
			return c, err
		}
		c.InputTokens, c.Breakpoints, c.bounds = (n+3)/4, bps, bounds
		return c, nil
	}
	n := len(b.Instructions)
	if anthropicBody {
		for _, t := range b.Tools {
			n += toolBytes(t)
		}
	}
	if b.System != nil {
		n += len(b.System.text)
	}
	if b.Input != nil {
		n += len(b.Input.text)
	}
	for _, m := range b.Messages {
		n += len(m.Content.text)
	}
	c.InputTokens = (n + 3) / 4
	return c, nil
}

// outputText returns generated text of exactly n tokens by CountTokens.
func outputText(n int) string {
	const phrase = "Hello from llmtest. " // 20 bytes: 5 tokens
	var sb strings.Builder
	sb.Grow(4 * n)
	for sb.Len() < 4*n {
		sb.WriteString(phrase)
	}
	return sb.String()[:4*n]
}
