package sdktest

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"

	"github.com/sluicehq/sluice/llmtest"
	"github.com/sluicehq/sluice/transport"
)

// retryHTTPClient is an http.Client through sluice's retry layer over a
// transport whose idle connections close with the test.
func retryHTTPClient(t *testing.T, s transport.RetrySettings) *http.Client {
	t.Helper()
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)
	return &http.Client{Transport: transport.Retry(base, s)}
}

func retryServer(t *testing.T) *llmtest.Server {
	t.Helper()
	s := llmtest.NewServer(llmtest.Config{})
	t.Cleanup(s.Close)
	return s
}

func retryAnthropic(s *llmtest.Server, hc *http.Client, extra ...aoption.RequestOption) anthropic.Client {
	opts := append([]aoption.RequestOption{aoption.WithBaseURL(s.URL), aoption.WithAPIKey("sk-ant-test"),
		aoption.WithHTTPClient(hc), aoption.WithMaxRetries(0), aoption.WithoutOpenTelemetry()}, extra...)
	return anthropic.NewClient(opts...)
}

func retryAnthropicCall(ctx context.Context, c anthropic.Client) (*anthropic.Message, error) {
	return c.Messages.New(ctx, anthropic.MessageNewParams{
		Model: "claude-sdk", MaxTokens: 8,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))},
	})
}

func retryOpenAI(s *llmtest.Server, hc *http.Client, extra ...ooption.RequestOption) openai.Client {
	opts := append([]ooption.RequestOption{ooption.WithBaseURL(s.URL + "/v1/"), ooption.WithAPIKey("sk-test"),
		ooption.WithHTTPClient(hc)}, extra...)
	return openai.NewClient(opts...)
}

func retryOpenAICall(ctx context.Context, c openai.Client) (*openai.ChatCompletion, error) {
	return c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    "gpt-sdk",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
	})
}

var retryFast = transport.RetrySettings{InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxAttempts: 3}

func TestRetryAnthropicRateLimitThenOK(t *testing.T) {
	s := retryServer(t)
	s.Inject(llmtest.Fault{Kind: llmtest.FaultStatus, Status: 429, RetryAfterMs: "20", ShouldRetry: "true", Count: 1})
	msg, err := retryAnthropicCall(context.Background(), retryAnthropic(s, retryHTTPClient(t, retryFast)))
	if err != nil {
		t.Fatal(err)
	}
	if msg.ID == "" || s.Stats().Arrivals != 2 {
		t.Fatalf("message %q after %d arrivals, want one after 2", msg.ID, s.Stats().Arrivals)
	}
}

func TestRetryAnthropicPermanent429IsSDKError(t *testing.T) {
	s := retryServer(t)
	s.Inject(llmtest.Fault{Kind: llmtest.FaultStatus, Status: 429, RetryAfterMs: "1", ShouldRetry: "true", Count: 100})
	_, err := retryAnthropicCall(context.Background(), retryAnthropic(s, retryHTTPClient(t, retryFast)))
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Type() != "rate_limit_error" {
		t.Fatalf("err = %v, want *anthropic.Error 429 rate_limit_error", err)
	}
	if n := s.Stats().Arrivals; n != 3 {
		t.Fatalf("%d arrivals, want sluice's 3", n)
	}
}

// openai-go is left at its default of 2 retries: the x-should-retry: false
// sluice stamps on its final answer stops them, so attempts do not multiply.
func TestRetryOpenAIRateLimitThenOKAndNoMultiply(t *testing.T) {
	s := retryServer(t)
	s.Inject(llmtest.Fault{Kind: llmtest.FaultStatus, Status: 429, RetryAfterMs: "20", Count: 1})
	c := retryOpenAI(s, retryHTTPClient(t, retryFast))
	if _, err := retryOpenAICall(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	s.ResetStats()
	s.Inject(llmtest.Fault{Kind: llmtest.FaultStatus, Status: 429, RetryAfterMs: "1", Count: 100})
	_, err := retryOpenAICall(context.Background(), c)
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 {
		t.Fatalf("err = %v, want *openai.Error 429", err)
	}
	if n := s.Stats().Arrivals; n != 3 {
		t.Fatalf("%d arrivals, want sluice's 3 (SDK retries would make 9)", n)
	}
}

// Errors sluice makes itself survive both SDKs: every attempt is reset, and
// the caller finds *transport.RetryError, its reason and its cause.
func TestRetryErrorThroughSDKs(t *testing.T) {
	s := retryServer(t)
	s.Inject(llmtest.Fault{Kind: llmtest.FaultReset, Count: 1000})
	hc := retryHTTPClient(t, retryFast)
	_, aerr := retryAnthropicCall(context.Background(), retryAnthropic(s, hc))
	_, oerr := retryOpenAICall(context.Background(), retryOpenAI(s, hc, ooption.WithMaxRetries(0)))
	for name, err := range map[string]error{"anthropic": aerr, "openai": oerr} {
		var re *transport.RetryError
		if !errors.As(err, &re) || !errors.Is(err, transport.ErrRetriesExhausted) || re.Attempts != 3 || re.Err == nil {
			t.Errorf("%s: err = %v, want a *transport.RetryError after 3 attempts with a cause", name, err)
		}
	}
	if n := s.Stats().Arrivals; n != 6 {
		t.Errorf("%d arrivals, want 3 per SDK", n)
	}
}

// A wait cut by the caller's deadline: the layer returns the 429 at once
// rather than sleep into the timeout, and the SDK reports it as its own.
func TestRetryDeadlineThroughSDK(t *testing.T) {
	s := retryServer(t)
	s.Inject(llmtest.Fault{Kind: llmtest.FaultStatus, Status: 529, RetryAfter: "30", Count: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	_, err := retryAnthropicCall(ctx, retryAnthropic(s, retryHTTPClient(t, transport.RetrySettings{})))
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 529 || time.Since(start) > 2*time.Second {
		t.Fatalf("err = %v after %v, want *anthropic.Error 529 at once", err, time.Since(start))
	}
}
