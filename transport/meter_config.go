package transport

import (
	"context"
	"time"
)

// MeterSettings configure the metering layer. The zero value meters every
// call into spans and GenAI metrics, with no callback.
type MeterSettings struct {
	// OnUsage, when set, is called with the usage of every call that got a
	// 2xx response: exactly once when the body has been read to its end
	// (Err nil), or once when it failed part-way (Err set). It runs on the
	// goroutine that reads or closes the body and must not block.
	OnUsage func(ctx context.Context, r UsageReport)
	// StreamUsage makes the meter add stream_options.include_usage: true
	// to OpenAI chat-completion streaming requests that do not ask for it,
	// so that their usage is known. The caller then sees one more chunk,
	// with empty choices and the usage, before [DONE] (openai-go handles
	// it). Default false: the request is sent as it is.
	StreamUsage bool
}

// Usage is the token usage of one call, as the provider reported it.
type Usage struct {
	// InputTokens is what the provider calls input_tokens (Anthropic,
	// excluding cached input) or prompt_tokens / input_tokens (OpenAI,
	// including it); TotalInputTokens adds the cache counts where needed.
	InputTokens              int64
	OutputTokens             int64
	CacheCreationInputTokens int64
	CacheReadInputTokens     int64
	// ReasoningTokens are the part of OutputTokens spent thinking.
	ReasoningTokens int64
	// Known is false when the response carried no usage: an OpenAI chat
	// stream without stream_options.include_usage (see MeterSettings.StreamUsage),
	// or a body cut before its usage arrived. Unknown is not zero.
	Known bool
	// TotalInputTokens is every input token, cached or not.
	TotalInputTokens int64
}

// UsageReport is what MeterSettings.OnUsage receives for a call.
type UsageReport struct {
	Provider      string // gen_ai.provider.name: "anthropic", "openai"
	Operation     string // gen_ai.operation.name, e.g. "chat"
	RequestModel  string
	ResponseModel string
	Stream        bool
	Usage         Usage
	// Duration is from the start of the call to the end of its body.
	Duration time.Duration
	// Err is nil for a successful call: its usage is what to bill, and
	// there is exactly one such report per successful call, however many
	// attempts the layers below made. A non-nil Err marks a failed call
	// that nevertheless spent tokens — a stream cut short or ended by an
	// error event, a body closed before its end — with what the body
	// showed; keep those apart from billing.
	Err error
}
