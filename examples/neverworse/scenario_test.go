package neverworse

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/openai/openai-go/v3"

	"github.com/sluicehq/sluice/llmtest"
)

// window compresses the providers' minute for the quota scenarios; the
// fake's cache TTLs shrink alike and sluice's limiter is told it
// (limiter.WithWindow).
const window = 3 * time.Second

// callDeadline is each call's context deadline: long enough that a call
// fails because its client gave up, not because the test ran out of time.
const callDeadline = time.Minute

// scenario is one workload against the fake API.
type scenario struct {
	name    string
	cfg     llmtest.Config
	prepare func(*llmtest.Server) // scripted faults; nil: none
	calls   int
	workers int
	seeds   int // how many seeds of cfg.Faults to play, from cfg.Seed; 0: one
	call    func(ctx context.Context, c *clients, i int) error
}

// prompt is about n tokens as llmtest counts them (4 bytes a token).
func prompt(i, n int) string {
	return fmt.Sprintf("Question %d. ", i) + strings.Repeat("abcd", n)
}

func scenarios() []scenario {
	compressTTL := func(d time.Duration) time.Duration { return d / (time.Minute / window) }
	sizes := []int{50, 200, 500, 1000}
	system := []anthropic.TextBlockParam{{
		Text:         strings.Repeat("You follow the rules of the house. ", 80000/35), // about 20 000 tokens
		CacheControl: anthropic.NewCacheControlEphemeralParam(),
	}}
	return []scenario{
		{
			name:  "quota (Anthropic)",
			cfg:   llmtest.Config{Window: window, Quota: llmtest.Quota{Requests: 40, InputTokens: 20000, OutputTokens: 6000}, Latency: 20 * time.Millisecond},
			calls: 120, workers: 20,
			call: func(ctx context.Context, c *clients, i int) error {
				return c.message(ctx, i%3 == 0, anthropic.MessageNewParams{Model: "claude-sonnet-4-6", MaxTokens: 256,
					Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(prompt(i, sizes[i%4])))}})
			},
		},
		{
			name:  "quota (OpenAI)",
			cfg:   llmtest.Config{Window: window, Quota: llmtest.Quota{Requests: 40, Tokens: 30000}, Latency: 20 * time.Millisecond},
			calls: 120, workers: 20,
			call: func(ctx context.Context, c *clients, i int) error {
				return c.chat(ctx, i%3 == 0, openai.ChatCompletionNewParams{Model: "gpt-4.1-mini", MaxCompletionTokens: openai.Int(256),
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt(i, sizes[i%4]))}})
			},
		},
		{
			// A 20 000-token system prompt marked cache_control: cache
			// reads do not count towards input tokens per minute.
			name: "prompt caching",
			cfg: llmtest.Config{Window: window, Quota: llmtest.Quota{Requests: 100, InputTokens: 30000, OutputTokens: 8000},
				Latency: 20 * time.Millisecond, CacheTTL: compressTTL},
			calls: 300, workers: 20,
			call: func(ctx context.Context, c *clients, i int) error {
				return c.message(ctx, false, anthropic.MessageNewParams{Model: "claude-sonnet-4-6", MaxTokens: 1024, System: system,
					Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(prompt(i, 20)))}})
			},
		},
		{
			// max_tokens far above the output-token limit; output is
			// counted as generated (30 tokens).
			name: "large max_tokens",
			cfg: llmtest.Config{Window: window, Quota: llmtest.Quota{Requests: 50, InputTokens: 30000, OutputTokens: 8000},
				Latency: 20 * time.Millisecond, OutputTokens: func(string, int, int) int { return 30 }},
			calls: 100, workers: 20,
			call: func(ctx context.Context, c *clients, i int) error {
				return c.message(ctx, i%2 == 0, anthropic.MessageNewParams{Model: "claude-opus-4-8", MaxTokens: 16000,
					Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(prompt(i, 20)))}})
			},
		},
		{
			// Steady load; every request is answered 529 from 1 s to 3 s.
			name: "outage (2 s of 529s)",
			cfg: llmtest.Config{Latency: 50 * time.Millisecond,
				Outages: []llmtest.Outage{{Start: time.Second, End: 3 * time.Second, Status: 529}}},
			calls: 1200, workers: 20,
			call: smallMessage,
		},
		{
			// llmtest's Faults: 10 % 529, 5 % 500, 5 % connection resets.
			name: "chaos",
			cfg: llmtest.Config{Latency: 20 * time.Millisecond, Seed: 1, Faults: []llmtest.Fault{
				{Kind: llmtest.FaultStatus, Status: 529, Probability: 0.10},
				{Kind: llmtest.FaultStatus, Status: 500, Probability: 0.05},
				{Kind: llmtest.FaultReset, Probability: 0.05},
			}},
			calls: 500, workers: 20, seeds: 3,
			call: smallMessage,
		},
		{
			// A badly degraded API: a third of attempts fail. Retries
			// still ride through; a budget must not turn them into
			// failures.
			name: "heavy degradation",
			cfg: llmtest.Config{Latency: 20 * time.Millisecond, Seed: 2, Faults: []llmtest.Fault{
				{Kind: llmtest.FaultStatus, Status: 529, Probability: 0.25},
				{Kind: llmtest.FaultStatus, Status: 500, Probability: 0.05},
				{Kind: llmtest.FaultReset, Probability: 0.05},
			}},
			calls: 500, workers: 20, seeds: 3,
			call: smallMessage,
		},
		{
			// A spend limit: every call gets a 429 that waiting cannot
			// fix (retry-after: 1). Both fail every call; the bare SDK
			// retries each one.
			name: "hard quota (spend limit)",
			prepare: func(s *llmtest.Server) {
				s.Inject(llmtest.Fault{Kind: llmtest.FaultStatus, Status: 429, RetryAfter: "1",
					ErrorCode: "enforced_spend_limit_reached", Count: 1 << 20})
			},
			calls: 20, workers: 10,
			call: smallMessage,
		},
		{
			// HTTP 200 whose first SSE event is overloaded_error, on 10 %
			// of streams: the SDK sees the error after the status.
			name: "early stream errors",
			cfg: llmtest.Config{Latency: 20 * time.Millisecond, Seed: 1, Faults: []llmtest.Fault{
				{Kind: llmtest.FaultStreamError, Probability: 0.10},
			}},
			calls: 200, workers: 20,
			call: func(ctx context.Context, c *clients, i int) error {
				return c.message(ctx, true, smallParams(i))
			},
		},
	}
}

// totalCalls is how many calls s makes over all its seeds.
func (s scenario) totalCalls() int { return s.calls * max(s.seeds, 1) }

func smallParams(i int) anthropic.MessageNewParams {
	return anthropic.MessageNewParams{Model: "claude-sonnet-4-6", MaxTokens: 64,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(prompt(i, 20)))}}
}

func smallMessage(ctx context.Context, c *clients, i int) error {
	return c.message(ctx, false, smallParams(i))
}
