package sdktest

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/sluicehq/sluice/llmtest"
)

// llmtestServer starts a fake API the test closes.
func llmtestServer(t *testing.T, cfg llmtest.Config) *llmtest.Server {
	t.Helper()
	s := llmtest.NewServer(cfg)
	t.Cleanup(s.Close)
	return s
}

// llmtestAnthropic is an anthropic-sdk-go client of s that never retries.
func llmtestAnthropic(s *llmtest.Server, opts ...aoption.RequestOption) anthropic.Client {
	return anthropic.NewClient(append([]aoption.RequestOption{
		aoption.WithBaseURL(s.URL), aoption.WithAPIKey("test"), aoption.WithMaxRetries(0),
		aoption.WithHTTPClient(s.Client()), aoption.WithoutOpenTelemetry(),
	}, opts...)...)
}

// llmtestOpenAI is an openai-go client of s that never retries.
func llmtestOpenAI(s *llmtest.Server, opts ...ooption.RequestOption) openai.Client {
	return openai.NewClient(append([]ooption.RequestOption{
		ooption.WithBaseURL(s.URL + "/v1/"), ooption.WithAPIKey("test"), ooption.WithMaxRetries(0),
		ooption.WithHTTPClient(s.Client()),
	}, opts...)...)
}

var llmtestPrompt = strings.Repeat("abcd", 100) // 100 tokens by llmtest.CountTokens

func llmtestMessageParams() anthropic.MessageNewParams {
	return anthropic.MessageNewParams{
		Model:     "claude-test",
		MaxTokens: 64,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(llmtestPrompt))},
	}
}

func llmtestChatParams() openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:               "gpt-test",
		MaxCompletionTokens: openai.Int(64),
		Messages:            []openai.ChatCompletionMessageParamUnion{openai.UserMessage(llmtestPrompt)},
	}
}

func TestLLMTestAnthropicSDK(t *testing.T) {
	s := llmtestServer(t, llmtest.Config{})
	c := llmtestAnthropic(s)
	ctx := context.Background()

	msg, err := c.Messages.New(ctx, llmtestMessageParams())
	if err != nil {
		t.Fatal(err)
	}
	if msg.Usage.InputTokens != 100 || msg.Usage.OutputTokens != 16 || msg.StopReason != anthropic.StopReasonEndTurn ||
		len(msg.Content) != 1 || llmtest.CountTokens(msg.Content[0].Text) != 16 {
		t.Errorf("message usage %+v, stop %q, content %d blocks", msg.Usage.RawJSON(), msg.StopReason, len(msg.Content))
	}

	stream := c.Messages.NewStreaming(ctx, llmtestMessageParams())
	var acc anthropic.Message
	for stream.Next() {
		if err := acc.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	stream.Close()
	if acc.Usage.InputTokens != 100 || acc.Usage.OutputTokens != 16 || len(acc.Content) != 1 || llmtest.CountTokens(acc.Content[0].Text) != 16 {
		t.Errorf("accumulated stream usage %s, content %d blocks", acc.Usage.RawJSON(), len(acc.Content))
	}

	n, err := c.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{
		Model:    "claude-test",
		Messages: llmtestMessageParams().Messages,
	})
	if err != nil || n.InputTokens != 100 {
		t.Errorf("count tokens = %v, %v", n.InputTokens, err)
	}
	if st := s.Stats(); st.Completed != 3 || st.InputTokens != 200 || st.OutputTokens != 32 {
		t.Errorf("stats = %+v", st)
	}
}

func TestLLMTestAnthropicSDKErrors(t *testing.T) {
	s := llmtestServer(t, llmtest.Config{Quota: llmtest.Quota{Requests: 1}})
	c := llmtestAnthropic(s)
	ctx := context.Background()
	if _, err := c.Messages.New(ctx, llmtestMessageParams()); err != nil {
		t.Fatal(err)
	}

	_, err := c.Messages.New(ctx, llmtestMessageParams())
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests || apiErr.Type() != "rate_limit_error" || apiErr.RequestID == "" {
		t.Fatalf("429: %v", err)
	}
	if ra := apiErr.Response.Header.Get("retry-after"); ra != "60" {
		t.Errorf("retry-after = %q, want 60", ra)
	}

	// A 529 on a stream, from a model with its own quota.
	s.Inject(llmtest.Fault{Kind: llmtest.FaultStatus, Status: 529})
	p := llmtestMessageParams()
	p.Model = "claude-other"
	stream := c.Messages.NewStreaming(ctx, p)
	for stream.Next() {
	}
	if !errors.As(stream.Err(), &apiErr) || apiErr.StatusCode != 529 || apiErr.Type() != "overloaded_error" {
		t.Errorf("529: %v", stream.Err())
	}
	stream.Close()

	// A mid-stream error after HTTP 200.
	s.Inject(llmtest.Fault{Kind: llmtest.FaultStreamError})
	stream = c.Messages.NewStreaming(ctx, p)
	for stream.Next() {
	}
	if !errors.As(stream.Err(), &apiErr) || apiErr.StatusCode != 200 || apiErr.Type() != "overloaded_error" {
		t.Errorf("stream error: %v", stream.Err())
	}
	stream.Close()
}

// TestLLMTestSDKRetryReplaysBody: the SDK's own retries honour the
// server's retry-after-ms and resend the same bytes.
func TestLLMTestSDKRetryReplaysBody(t *testing.T) {
	s := llmtestServer(t, llmtest.Config{})
	s.Inject(llmtest.Fault{Kind: llmtest.FaultStatus, Status: 529, RetryAfterMs: "10", Count: 2})
	c := llmtestAnthropic(s, aoption.WithMaxRetries(2))
	if _, err := c.Messages.New(context.Background(), llmtestMessageParams()); err != nil {
		t.Fatal(err)
	}
	reqs := s.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d attempts, want 3", len(reqs))
	}
	for i, r := range reqs {
		if r.BodySHA256 != reqs[0].BodySHA256 || r.RetryCount != []string{"0", "1", "2"}[i] {
			t.Errorf("attempt %d = %+v", i, r)
		}
	}
	if st := s.Stats(); st.HerdArrivals != 0 || st.ByStatus[529] != 2 {
		t.Errorf("stats = %+v", st)
	}
}

func TestLLMTestOpenAISDK(t *testing.T) {
	s := llmtestServer(t, llmtest.Config{Quota: llmtest.Quota{Requests: 100, Tokens: 10000}})
	c := llmtestOpenAI(s)
	ctx := context.Background()

	cc, err := c.Chat.Completions.New(ctx, llmtestChatParams())
	if err != nil {
		t.Fatal(err)
	}
	if cc.Usage.PromptTokens != 100 || cc.Usage.CompletionTokens != 16 || len(cc.Choices) != 1 ||
		llmtest.CountTokens(cc.Choices[0].Message.Content) != 16 {
		t.Errorf("completion = %s", cc.RawJSON())
	}

	p := llmtestChatParams()
	p.StreamOptions.IncludeUsage = openai.Bool(true)
	stream := c.Chat.Completions.NewStreaming(ctx, p)
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	stream.Close()
	if acc.Usage.PromptTokens != 100 || acc.Usage.CompletionTokens != 16 || llmtest.CountTokens(acc.Choices[0].Message.Content) != 16 {
		t.Errorf("accumulated stream usage %+v", acc.Usage)
	}
}

func TestLLMTestOpenAISDKErrors(t *testing.T) {
	s := llmtestServer(t, llmtest.Config{Quota: llmtest.Quota{Requests: 1}, Window: time.Minute})
	c := llmtestOpenAI(s)
	ctx := context.Background()
	if _, err := c.Chat.Completions.New(ctx, llmtestChatParams()); err != nil {
		t.Fatal(err)
	}
	_, err := c.Chat.Completions.New(ctx, llmtestChatParams())
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Type != "requests" || apiErr.Code != "rate_limit_exceeded" {
		t.Fatalf("429: %v", err)
	}
	s.Inject(llmtest.Fault{Kind: llmtest.FaultStatus, Status: 529})
	p := llmtestChatParams()
	p.Model = "gpt-other"
	stream := c.Chat.Completions.NewStreaming(ctx, p)
	for stream.Next() {
	}
	if !errors.As(stream.Err(), &apiErr) || apiErr.StatusCode != 529 {
		t.Errorf("529: %v", stream.Err())
	}
	stream.Close()
}

func TestLLMTestOpenAIResponsesSDK(t *testing.T) {
	s := llmtestServer(t, llmtest.Config{})
	c := llmtestOpenAI(s)
	ctx := context.Background()
	p := responses.ResponseNewParams{
		Model: "gpt-test",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String(llmtestPrompt)},
	}
	r, err := c.Responses.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if r.Usage.InputTokens != 100 || r.Usage.OutputTokens != 16 || llmtest.CountTokens(r.OutputText()) != 16 {
		t.Errorf("response = %s", r.RawJSON())
	}
	stream := c.Responses.NewStreaming(ctx, p)
	var completed bool
	for stream.Next() {
		if ev := stream.Current(); ev.Type == "response.completed" {
			completed = ev.Response.Usage.OutputTokens == 16
		}
	}
	if err := stream.Err(); err != nil || !completed {
		t.Errorf("stream: err %v, completed with usage %v", err, completed)
	}
	stream.Close()
}
