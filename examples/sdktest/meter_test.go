package sdktest

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluicehq/sluice/llmtest"
	"github.com/sluicehq/sluice/telemetry"
	"github.com/sluicehq/sluice/transport"
)

// meterClients are both SDKs over a Meter on srv, reporting usage to rec.
type meterClients struct {
	anthropic anthropic.Client
	openai    openai.Client
	spans     *tracetest.SpanRecorder
	tp        *sdktrace.TracerProvider

	mu     sync.Mutex
	ok     []transport.UsageReport
	failed []transport.UsageReport
}

func newMeterClients(t *testing.T, srv *llmtest.Server) *meterClients {
	t.Helper()
	c := &meterClients{spans: tracetest.NewSpanRecorder()}
	c.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(c.spans))
	rt := transport.Meter(srv.Client().Transport, transport.MeterSettings{
		StreamUsage: true,
		OnUsage: func(_ context.Context, r transport.UsageReport) {
			c.mu.Lock()
			defer c.mu.Unlock()
			if r.Err != nil {
				c.failed = append(c.failed, r)
			} else {
				c.ok = append(c.ok, r)
			}
		},
	}, transport.WithTelemetry(telemetry.WithTracerProvider(c.tp)))
	hc := &http.Client{Transport: rt}
	c.anthropic = anthropic.NewClient(aoption.WithBaseURL(srv.URL), aoption.WithAPIKey("sk-ant-test"),
		aoption.WithHTTPClient(hc), aoption.WithMaxRetries(0), aoption.WithTracerProvider(c.tp))
	c.openai = openai.NewClient(ooption.WithBaseURL(srv.URL+"/v1/"), ooption.WithAPIKey("sk-test"),
		ooption.WithHTTPClient(hc), ooption.WithMaxRetries(0))
	return c
}

// meterCall makes call number i, one of six kinds: {Anthropic messages,
// OpenAI chat, OpenAI responses} × {JSON, stream}.
func (c *meterClients) meterCall(ctx context.Context, i int) error {
	maxTok := int64(8 + i%9)
	prompt := fmt.Sprintf("question %d %s", i, "with some words")
	switch i % 6 {
	case 0:
		_, err := c.anthropic.Messages.New(ctx, meterAnthropicParams(maxTok, prompt))
		return err
	case 1:
		s := c.anthropic.Messages.NewStreaming(ctx, meterAnthropicParams(maxTok, prompt))
		for s.Next() {
		}
		return s.Err()
	case 2:
		_, err := c.openai.Chat.Completions.New(ctx, meterChatParams(maxTok, prompt))
		return err
	case 3:
		s := c.openai.Chat.Completions.NewStreaming(ctx, meterChatParams(maxTok, prompt))
		for s.Next() {
		}
		return s.Err()
	case 4:
		_, err := c.openai.Responses.New(ctx, meterResponsesParams(maxTok, prompt))
		return err
	default:
		s := c.openai.Responses.NewStreaming(ctx, meterResponsesParams(maxTok, prompt))
		for s.Next() {
		}
		return s.Err()
	}
}

func meterAnthropicParams(maxTok int64, prompt string) anthropic.MessageNewParams {
	return anthropic.MessageNewParams{Model: "claude-x", MaxTokens: maxTok,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(prompt))}}
}

func meterChatParams(maxTok int64, prompt string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{Model: "gpt-x", MaxCompletionTokens: openai.Int(maxTok),
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)}}
}

func meterResponsesParams(maxTok int64, prompt string) responses.ResponseNewParams {
	return responses.ResponseNewParams{Model: "gpt-r", MaxOutputTokens: openai.Int(maxTok),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String(prompt)}}
}

// TestMeterUsageMatchesServer: over 1 000 mixed calls through both SDKs,
// the usage the meter reports adds up exactly to what llmtest served.
func TestMeterUsageMatchesServer(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Config{})
	defer srv.Close()
	c := newMeterClients(t, srv)
	const calls, workers = 1000, 8
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < calls; i += workers {
				if err := c.meterCall(context.Background(), i); err != nil {
					errs <- fmt.Errorf("call %d: %w", i, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := srv.Stats()
	var in, out int64
	for _, r := range c.ok {
		if !r.Usage.Known {
			t.Fatalf("unknown usage for a %s %s call (stream %v)", r.Provider, r.RequestModel, r.Stream)
		}
		in += r.Usage.TotalInputTokens
		out += r.Usage.OutputTokens
	}
	if len(c.ok) != calls || len(c.failed) != 0 || st.Completed != calls {
		t.Fatalf("%d successful and %d failed reports, server completed %d; want %d, 0, %d", len(c.ok), len(c.failed), st.Completed, calls, calls)
	}
	if in != st.InputTokens || out != st.OutputTokens || in == 0 {
		t.Fatalf("metered %d in / %d out, server counted %d / %d", in, out, st.InputTokens, st.OutputTokens)
	}
}

// TestMeterTruncatedStreamThroughSDK: a stream cut by the server is
// reported as failed, with what it showed, and the SDK sees an error too.
func TestMeterTruncatedStreamThroughSDK(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Config{})
	defer srv.Close()
	c := newMeterClients(t, srv)
	for i, call := range []int{1, 3, 5} { // the three stream kinds
		srv.Inject(llmtest.Fault{Kind: llmtest.FaultTruncate})
		sdkErr := c.meterCall(context.Background(), call)
		c.mu.Lock()
		nFailed, nOK := len(c.failed), len(c.ok)
		c.mu.Unlock()
		if nFailed != i+1 || nOK != 0 {
			t.Fatalf("kind %d: %d failed, %d ok reports (SDK error %v)", call, nFailed, nOK, sdkErr)
		}
		if sdkErr == nil {
			t.Fatalf("kind %d: the SDK saw no error in a truncated stream", call)
		}
	}
	if st := srv.Stats(); st.Truncated != 3 || st.InputTokens != 0 {
		t.Fatalf("server stats %+v", st)
	}
}

// TestMeterSpansUnderSDKs: anthropic-sdk-go makes its own GenAI span, so
// sluice's is an INTERNAL child; under openai-go sluice's span is the
// GenAI CLIENT span.
func TestMeterSpansUnderSDKs(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Config{})
	defer srv.Close()
	c := newMeterClients(t, srv)
	if err := c.meterCall(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	if err := c.meterCall(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range c.spans.Ended() {
		byName[s.Name()] = s
	}
	sdk, call, chat := byName["anthropic.messages.create"], byName["sluice.call"], byName["chat gpt-x"]
	if sdk == nil || call == nil || chat == nil {
		t.Fatalf("spans %v", meterKeys(byName))
	}
	if call.Parent().SpanID() != sdk.SpanContext().SpanID() || call.SpanKind() != trace.SpanKindInternal {
		t.Fatalf("sluice.call is %v under %v, want INTERNAL under the SDK span", call.SpanKind(), call.Parent().SpanID())
	}
	if _, dup := byName["chat claude-x"]; dup {
		t.Fatal("a second GenAI span for the Anthropic call")
	}
	if chat.SpanKind() != trace.SpanKindClient {
		t.Fatalf("chat gpt-x kind %v", chat.SpanKind())
	}
	// Usage is on the GenAI span of each call — the SDK's for Anthropic,
	// sluice's own for OpenAI — and not repeated on sluice.call.
	hasUsage := func(s sdktrace.ReadOnlySpan) bool {
		for _, a := range s.Attributes() {
			if a.Key == "gen_ai.usage.output_tokens" && a.Value.AsInt64() > 0 {
				return true
			}
		}
		return false
	}
	for _, s := range []sdktrace.ReadOnlySpan{sdk, chat} {
		if !hasUsage(s) {
			t.Fatalf("%s lacks gen_ai.usage.output_tokens", s.Name())
		}
	}
	if hasUsage(call) {
		t.Fatal("sluice.call repeats the SDK span's gen_ai.usage.output_tokens")
	}
}

func meterKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestMeterBillsRetriedCallsOnce: under Meter → Retry → Breaker, calls that
// needed retries (random 529s) are reported once each, and the billed usage
// still adds up exactly to what the server served.
func TestMeterBillsRetriedCallsOnce(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Config{Seed: 7, Faults: []llmtest.Fault{{Kind: llmtest.FaultStatus, Status: 529, Probability: 0.2}}})
	defer srv.Close()
	var mu sync.Mutex
	var reports []transport.UsageReport
	breaker := transport.Breaker(srv.Client().Transport, transport.BreakerSettings{})
	retry := transport.Retry(breaker, transport.RetrySettings{
		InitialBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, MaxAttempts: 10,
		BudgetRatio: -1, // no retry budget
	})
	rt := transport.Meter(retry, transport.MeterSettings{OnUsage: func(_ context.Context, r transport.UsageReport) {
		mu.Lock()
		defer mu.Unlock()
		reports = append(reports, r)
	}})
	hc := &http.Client{Transport: rt}
	c := &meterClients{
		anthropic: anthropic.NewClient(aoption.WithBaseURL(srv.URL), aoption.WithAPIKey("k"), aoption.WithHTTPClient(hc),
			aoption.WithMaxRetries(0), aoption.WithoutOpenTelemetry()),
		openai: openai.NewClient(ooption.WithBaseURL(srv.URL+"/v1/"), ooption.WithAPIKey("k"), ooption.WithHTTPClient(hc),
			ooption.WithMaxRetries(0)),
	}
	const calls = 120
	for i := range calls {
		if i%6 == 3 {
			continue // chat streams without include_usage: unknown usage, checked elsewhere
		}
		if err := c.meterCall(context.Background(), i); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	st := srv.Stats()
	var in, out int64
	for _, r := range reports {
		if r.Err != nil || !r.Usage.Known {
			t.Fatalf("report %+v", r)
		}
		in += r.Usage.TotalInputTokens
		out += r.Usage.OutputTokens
	}
	want := calls - calls/6
	if len(reports) != want || st.Completed != int64(want) || st.ByStatus[529] == 0 {
		t.Fatalf("%d reports, %d completed, %d × 529; want %d reports for %d calls, some retried", len(reports), st.Completed, st.ByStatus[529], want, want)
	}
	if in != st.InputTokens || out != st.OutputTokens {
		t.Fatalf("billed %d/%d, server served %d/%d", in, out, st.InputTokens, st.OutputTokens)
	}
}
