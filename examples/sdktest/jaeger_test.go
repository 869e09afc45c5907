package sdktest

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/sluicehq/sluice/examples/internal/jaegerproc"
	"github.com/sluicehq/sluice/llmtest"
	"github.com/sluicehq/sluice/telemetry"
	"github.com/sluicehq/sluice/telemetry/otlp"
	"github.com/sluicehq/sluice/transport"
)

const (
	jaegerAPIKey = "sk-ant-e2e-SECRET-0123456789"
	jaegerPrompt = "PROMPT-TEXT-must-never-be-exported"
)

// A rate-limited call through the real SDK and the default stack, exported
// over OTLP to a real Jaeger process and read back from its query API: the
// span tree is SDK span → sluice.call → attempt 1 (429), wait, attempt 2
// (200) with usage, and neither the API key nor the prompt appears anywhere.
func TestJaegerTraceOfRateLimitedCall(t *testing.T) {
	bin, err := jaegerproc.Binary()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	ctx := context.Background()
	j, err := jaegerproc.Start(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Stop()

	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", j.OTLPEndpoint)
	p, err := otlp.Setup(ctx, otlp.WithServiceName("sluice-e2e"), otlp.WithoutGlobal())
	if err != nil {
		t.Fatal(err)
	}
	srv := llmtest.NewServer(llmtest.Config{})
	defer srv.Close()
	srv.Inject(llmtest.Fault{Kind: llmtest.FaultStatus, Status: 429, RetryAfter: "1", RetryAfterMs: "150"})

	tr := transport.New(nil, transport.WithTelemetry(
		telemetry.WithTracerProvider(p.TracerProvider), telemetry.WithMeterProvider(p.MeterProvider)))
	defer tr.Close()
	client := anthropic.NewClient(
		aoption.WithHTTPClient(&http.Client{Transport: tr}), aoption.WithMaxRetries(0),
		aoption.WithTracerProvider(p.TracerProvider),
		aoption.WithBaseURL(srv.URL), aoption.WithAPIKey(jaegerAPIKey))
	msg, err := client.Messages.New(ctx, anthropic.MessageNewParams{
		Model: "claude-e2e", MaxTokens: 32,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(jaegerPrompt))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	tr1 := jaegerFetchTrace(t, j, "sluice-e2e")
	raw, _ := json.Marshal(tr1)
	for _, secret := range []string{jaegerAPIKey, jaegerPrompt, "SECRET"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("trace exported to Jaeger contains %q", secret)
		}
	}
	var sb strings.Builder
	tr1.Print(&sb)
	t.Logf("trace:\n%s", sb.String())

	kids := tr1.Children()
	roots := kids[""]
	if len(roots) != 1 || roots[0].OperationName != "anthropic.messages.create" {
		t.Fatalf("root spans = %v, want the SDK's anthropic.messages.create", names(roots))
	}
	calls := kids[roots[0].SpanID]
	if len(calls) != 1 || calls[0].OperationName != telemetry.SpanCall {
		t.Fatalf("under the SDK span: %v, want one %s", names(calls), telemetry.SpanCall)
	}
	call := calls[0]
	// The SDK's span carries the usage; sluice.call does not repeat it.
	if got := roots[0].Tag(string(telemetry.AttrUsageInputTokens)); jsonInt(got) != msg.Usage.InputTokens {
		t.Errorf("SDK span input tokens = %v, want %d", got, msg.Usage.InputTokens)
	}
	if got := call.Tag(string(telemetry.AttrUsageInputTokens)); got != nil {
		t.Errorf("%s repeats the SDK span's gen_ai.usage.input_tokens (%v)", call.OperationName, got)
	}
	if got := call.Tag(string(telemetry.AttrUsageKnown)); got != true {
		t.Errorf("%s sluice.usage.known = %v, want true", call.OperationName, got)
	}
	attempts := kids[call.SpanID]
	if len(attempts) != 2 {
		t.Fatalf("attempt spans under %s: %v, want 2", call.OperationName, names(attempts))
	}
	if s := jsonInt(attempts[0].Tag("http.response.status_code")); s != 429 {
		t.Errorf("attempt 1 status = %d, want 429", s)
	}
	if s := jsonInt(attempts[1].Tag("http.response.status_code")); s != 200 {
		t.Errorf("attempt 2 status = %d, want 200", s)
	}
	if rc := jsonInt(attempts[1].Tag("http.request.resend_count")); rc != 1 {
		t.Errorf("attempt 2 resend_count = %d, want 1", rc)
	}
	gap := time.Duration(attempts[1].StartTime-(attempts[0].StartTime+attempts[0].Duration)) * time.Microsecond
	if gap < 150*time.Millisecond {
		t.Errorf("attempt 2 started %v after attempt 1 ended, want ≥ the 150ms retry-after-ms", gap)
	}
	var waited bool
	for _, l := range call.Logs {
		for _, f := range l.Fields {
			if f.Key == string(telemetry.AttrRetryWaitSource) && f.Value == "retry-after-ms" {
				waited = true
			}
		}
	}
	if !waited {
		t.Errorf("no %s event with source retry-after-ms on %s", telemetry.EventRetryWait, call.OperationName)
	}
}

func jaegerFetchTrace(t *testing.T, j *jaegerproc.Jaeger, service string) jaegerproc.Trace {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		traces, err := j.Traces(context.Background(), service, 5)
		// The batch may arrive in pieces: wait for the attempt spans too.
		if err == nil && len(traces) == 1 && len(traces[0].Spans) >= 4 {
			return traces[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("trace of %s never complete in Jaeger: %v %v\n%s", service, traces, err, j.Logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func names(spans []jaegerproc.Span) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = s.OperationName
	}
	return out
}

func jsonInt(v any) int64 {
	switch x := v.(type) {
	case float64:
		return int64(x)
	case string:
		var n int64
		_ = json.Unmarshal([]byte(x), &n)
		return n
	}
	return -1
}
