package sdktest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/sluicehq/sluice/limiter"
	"github.com/sluicehq/sluice/llmtest"
	"github.com/sluicehq/sluice/telemetry"
	"github.com/sluicehq/sluice/transport"
)

// stackTokenSums adds up gen_ai.client.token.usage by token type.
func stackTokenSums(t *testing.T, r *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	sums := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != telemetry.MetricGenAITokenUsage {
				continue
			}
			h, ok := m.Data.(metricdata.Histogram[int64])
			if !ok {
				t.Fatalf("%s is %T", m.Name, m.Data)
			}
			for _, dp := range h.DataPoints {
				v, _ := dp.Attributes.Value(telemetry.AttrTokenType)
				sums[v.AsString()] += dp.Sum
			}
		}
	}
	return sums
}

// The documented wiring — transport.New(nil) and WithMaxRetries(0) — under
// a quota far below demand and a seeded mix of 529s and 500s, through both
// real SDKs: every call succeeds, only the first wave meets a 429, and the
// token metrics equal what the server counted.
func TestStackUnderQuotaAndFaults(t *testing.T) {
	for _, sdk := range []string{"anthropic", "openai"} {
		t.Run(sdk, func(t *testing.T) { stackUnderQuota(t, sdk) })
	}
}

func stackUnderQuota(t *testing.T, sdk string) {
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
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	lim := limiter.New(limiter.WithWindow(time.Second))
	defer lim.Close()
	tr := transport.New(nil, transport.WithLimit(transport.LimitSettings{Limiter: lim}),
		transport.WithRetry(transport.RetrySettings{InitialBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}),
		transport.WithTelemetry(telemetry.WithMeterProvider(mp)))
	defer tr.Close()
	hc := &http.Client{Transport: tr}
	var call func(ctx context.Context, i int) error
	switch sdk {
	case "anthropic":
		c := anthropic.NewClient(aoption.WithHTTPClient(hc), aoption.WithMaxRetries(0),
			aoption.WithBaseURL(srv.URL), aoption.WithAPIKey("stack-key"))
		call = func(ctx context.Context, i int) error { return stackAnthropicCall(ctx, c, i) }
	case "openai":
		c := openai.NewClient(ooption.WithHTTPClient(hc), ooption.WithMaxRetries(0),
			ooption.WithBaseURL(srv.URL+"/v1/"), ooption.WithAPIKey("stack-key"))
		call = func(ctx context.Context, i int) error { return stackOpenAICall(ctx, c, i) }
	}

	const calls, workers = 150, 25
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed []error
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
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
		}()
	}
	for i := range calls {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	for _, err := range failed {
		var ae *anthropic.Error
		var oe *openai.Error
		if !errors.As(err, &ae) && !errors.As(err, &oe) {
			t.Errorf("error is neither success nor the SDK's own error: %T %v", err, err)
		}
	}
	if len(failed) > 0 {
		t.Errorf("%d of %d calls failed", len(failed), calls)
	}
	st := srv.Stats()
	if st.RateLimited > workers {
		t.Errorf("429s served = %d, want at most the first wave (%d)", st.RateLimited, workers)
	}
	sums := stackTokenSums(t, reader)
	if sums["input"] != st.InputTokens || sums["output"] != st.OutputTokens {
		t.Errorf("metered tokens in/out = %d/%d, server counted %d/%d",
			sums["input"], sums["output"], st.InputTokens, st.OutputTokens)
	}
	t.Logf("arrivals %d, 429s %d, 529s %d, 500s %d, tokens %d/%d",
		st.Arrivals, st.RateLimited, st.ByStatus[529], st.ByStatus[500], st.InputTokens, st.OutputTokens)
}

func stackOpenAICall(ctx context.Context, c openai.Client, i int) error {
	p := openai.ChatCompletionNewParams{
		Model:               "gpt-stack",
		MaxCompletionTokens: openai.Int(int64(16 + i%3*16)),
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.UserMessage(strings.Repeat(fmt.Sprintf("call %d ", i), 5+i%40))},
	}
	if i%3 == 0 {
		p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		s := c.Chat.Completions.NewStreaming(ctx, p)
		defer s.Close()
		for s.Next() {
		}
		return s.Err()
	}
	_, err := c.Chat.Completions.New(ctx, p)
	return err
}

func stackAnthropicCall(ctx context.Context, c anthropic.Client, i int) error {
	p := anthropic.MessageNewParams{
		Model:     "claude-stack",
		MaxTokens: int64(16 + i%3*16),
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(
			anthropic.NewTextBlock(strings.Repeat(fmt.Sprintf("call %d ", i), 5+i%40)))},
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

// A user who forgets WithMaxRetries(0) keeps the SDK's two retries. The
// final responses sluice gives up on carry x-should-retry: false, so the
// server sees sluice's attempts only — not three times as many.
func TestStackSDKDefaultRetriesDoNotMultiply(t *testing.T) {
	const maxAttempts, calls = 3, 2
	srv := llmtest.NewServer(llmtest.Config{})
	defer srv.Close()
	srv.Inject(llmtest.Fault{Kind: llmtest.FaultStatus, Status: 529, Count: 1000})
	tr := transport.New(nil, transport.WithRetry(transport.RetrySettings{MaxAttempts: maxAttempts,
		InitialBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}))
	defer tr.Close()
	hc := &http.Client{Transport: tr}

	ac := anthropic.NewClient(aoption.WithHTTPClient(hc), aoption.WithBaseURL(srv.URL), aoption.WithAPIKey("k"))
	oc := openai.NewClient(ooption.WithHTTPClient(hc), ooption.WithBaseURL(srv.URL+"/v1/"), ooption.WithAPIKey("k"))
	ctx := context.Background()
	for i := range calls {
		err := stackAnthropicCall(ctx, ac, 1+3*i) // non-streaming
		var ae *anthropic.Error
		if !errors.As(err, &ae) || ae.StatusCode != 529 {
			t.Fatalf("anthropic: %v, want *anthropic.Error 529", err)
		}
	}
	if got, want := srv.Stats().Arrivals, int64(calls*maxAttempts); got != want {
		t.Errorf("anthropic SDK defaults: %d arrivals for %d calls, want %d (attempts per call %.1f)",
			got, calls, want, float64(got)/calls)
	}
	srv.ResetStats()
	for range calls {
		_, err := oc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    "gpt-stack",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")},
		})
		var oe *openai.Error
		if !errors.As(err, &oe) || oe.StatusCode != 529 {
			t.Fatalf("openai: %v, want *openai.Error 529", err)
		}
	}
	if got, want := srv.Stats().Arrivals, int64(calls*maxAttempts); got != want {
		t.Errorf("openai SDK defaults: %d arrivals for %d calls, want %d", got, calls, want)
	}
}
