package proxy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"

	"github.com/sluicehq/sluice/llmtest"
)

// The Go SDKs, with their default retries and pointed at the proxy only by
// their base URL, send a burst under a quota far below demand and a seeded
// mix of 529s and 500s: every call succeeds, JSON and streaming, and almost
// no 429 is served.
func TestGoSDKsBurstThroughTheProxy(t *testing.T) {
	for _, sdk := range []string{"anthropic", "openai"} {
		t.Run(sdk, func(t *testing.T) {
			srv := llmtest.NewServer(llmtest.Config{
				Window: time.Second,
				Quota:  llmtest.Quota{Requests: 30, InputTokens: 20000, OutputTokens: 2400, Tokens: 22000},
				Seed:   7,
				Faults: []llmtest.Fault{
					{Kind: llmtest.FaultStatus, Status: 529, Probability: 0.03},
					{Kind: llmtest.FaultStatus, Status: 500, Probability: 0.02},
				},
			})
			defer srv.Close()
			p := startProxy(t, testConfig(srv.URL))
			call := sdkCaller(sdk, p.URL)
			failed := burst(120, 20, call)
			for _, err := range failed {
				t.Errorf("failed: %v", err)
			}
			st := srv.Stats()
			if st.RateLimited*100 > st.Arrivals {
				t.Errorf("%d 429s served of %d arrivals, want at most 1 %%", st.RateLimited, st.Arrivals)
			}
			t.Logf("arrivals %d, 429s %d, 529s %d, 500s %d", st.Arrivals, st.RateLimited, st.ByStatus[529], st.ByStatus[500])
		})
	}
}

// sdkCaller returns a call through sdk's client at the proxy: every third
// call streams.
func sdkCaller(sdk, proxyURL string) func(ctx context.Context, i int) error {
	if sdk == "openai" {
		c := openai.NewClient(ooption.WithBaseURL(proxyURL+"/v1/"), ooption.WithAPIKey(openAIKey))
		return func(ctx context.Context, i int) error {
			p := openai.ChatCompletionNewParams{
				Model:               "gpt-burst",
				MaxCompletionTokens: openai.Int(int64(16 + i%3*16)),
				Messages:            []openai.ChatCompletionMessageParamUnion{openai.UserMessage(strings.Repeat(fmt.Sprintf("call %d ", i), 5+i%40))},
			}
			if i%3 == 0 {
				s := c.Chat.Completions.NewStreaming(ctx, p)
				defer s.Close()
				for s.Next() {
				}
				return s.Err()
			}
			_, err := c.Chat.Completions.New(ctx, p)
			return err
		}
	}
	c := anthropic.NewClient(aoption.WithBaseURL(proxyURL), aoption.WithAPIKey(anthropicKey))
	return func(ctx context.Context, i int) error {
		p := anthropic.MessageNewParams{
			Model:     "claude-burst",
			MaxTokens: int64(16 + i%3*16),
			Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(strings.Repeat(fmt.Sprintf("call %d ", i), 5+i%40)))},
		}
		if i%3 == 0 {
			s := c.Messages.NewStreaming(ctx, p)
			defer s.Close()
			for s.Next() {
			}
			return s.Err()
		}
		_, err := c.Messages.New(ctx, p)
		return err
	}
}

// burst runs calls calls, workers at a time, each with a minute's timeout,
// and returns the errors.
func burst(calls, workers int, call func(ctx context.Context, i int) error) []error {
	jobs := make(chan int)
	var mu sync.Mutex
	var failed []error
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				err := call(ctx, i)
				cancel()
				if err != nil {
					mu.Lock()
					failed = append(failed, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := range calls {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return failed
}

// What the Go SDKs make of the proxy's answers when a call must fail: the
// provider's final 529 as *Error with that status, sent once per sluice
// attempt despite the SDK's own retries; a local refusal as *Error 429.
func TestGoSDKErrorTypes(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Config{Window: time.Minute, Quota: llmtest.Quota{Requests: 1, Tokens: 100000}})
	defer srv.Close()
	c := testConfig(srv.URL)
	c.Window, c.MaxAttempts = time.Minute, 2
	p := startProxy(t, c)
	ac := anthropic.NewClient(aoption.WithBaseURL(p.URL), aoption.WithAPIKey(anthropicKey), aoption.WithRequestTimeout(3*time.Second))
	oc := openai.NewClient(ooption.WithBaseURL(p.URL+"/v1/"), ooption.WithAPIKey(openAIKey), ooption.WithRequestTimeout(3*time.Second))
	msg := anthropic.MessageNewParams{Model: "claude-err", MaxTokens: 16,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}}
	chat := openai.ChatCompletionNewParams{Model: "gpt-err", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}
	ctx := context.Background()

	srv.Inject(llmtest.Fault{Kind: llmtest.FaultStatus, Status: 529, Count: 2})
	_, err := ac.Messages.New(ctx, msg)
	var ae *anthropic.Error
	if !errors.As(err, &ae) || ae.StatusCode != 529 {
		t.Fatalf("anthropic final 529: %v", err)
	}
	if got := srv.Stats().Arrivals; got != 2 {
		t.Errorf("%d arrivals, want sluice's 2 attempts only", got)
	}

	// The quota is one request per minute: after one call, the next would
	// wait far longer than its 3 s timeout.
	if _, err := ac.Messages.New(ctx, msg); err != nil {
		t.Fatalf("anthropic first call: %v", err)
	}
	_, err = ac.Messages.New(ctx, msg)
	if !errors.As(err, &ae) || ae.StatusCode != 429 || ae.Response.Header.Get(HeaderRefusal) != "deadline" {
		t.Fatalf("anthropic refusal: %v", err)
	}
	if _, err := oc.Chat.Completions.New(ctx, chat); err != nil {
		t.Fatalf("openai first call: %v", err)
	}
	_, err = oc.Chat.Completions.New(ctx, chat)
	var oe *openai.Error
	if !errors.As(err, &oe) || oe.StatusCode != 429 || oe.Code != "rate_limit_exceeded" {
		t.Fatalf("openai refusal: %v", err)
	}
	if got := srv.Stats().Arrivals; got != 4 {
		t.Errorf("%d arrivals, want 4: refusals never reach the provider", got)
	}
}
