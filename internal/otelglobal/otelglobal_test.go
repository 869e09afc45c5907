package otelglobal_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/sluicehq/sluice/internal/otelglobal"
	"github.com/sluicehq/sluice/telemetry"
	"github.com/sluicehq/sluice/transport"
)

type jsonRT struct{}

func (jsonRT) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"model":"claude-x","content":[],"usage":{"input_tokens":10,"output_tokens":7}}`))}, nil
}

func call(t *testing.T, rt http.RoundTripper) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "https://api.anthropic.com/v1/messages",
		strings.NewReader(`{"model":"claude-x","max_tokens":64,"messages":[]}`))
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// This test owns the process's global tracer provider: it is the only test
// of its package. It checks the detection, and that a meter built on the
// global provider before any SDK skips its span work then, and records
// spans once an SDK is installed.
func TestGlobalProviderBeforeAndAfterSDK(t *testing.T) {
	tp := otel.GetTracerProvider()
	if !otelglobal.IsDefault(tp) {
		t.Fatalf("the global provider before any SDK (%T) is not recognised: OpenTelemetry renamed it?", tp)
	}
	if !otelglobal.Unset(tp) {
		t.Fatal("Unset = false before any SDK")
	}
	if _, span := tp.Tracer("x").Start(context.Background(), "s"); span.IsRecording() {
		t.Fatal("a span of the unset global provider records")
	}
	if otelglobal.IsDefault(tracenoop.NewTracerProvider()) {
		t.Fatal("the no-op provider taken for the global one")
	}

	meter := transport.Meter(jsonRT{}) // the global providers
	call(t, meter)
	explicitNoop := transport.Meter(jsonRT{}, transport.WithTelemetry(telemetry.WithTracerProvider(tracenoop.NewTracerProvider())))
	call(t, explicitNoop)
	if g, n := testing.AllocsPerRun(200, func() { call(t, meter) }), testing.AllocsPerRun(200, func() { call(t, explicitNoop) }); g > n {
		t.Fatalf("a call through the unset global provider allocates %.0f times, through the no-op one %.0f", g, n)
	}

	exp := tracetest.NewInMemoryExporter()
	sdk := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer sdk.Shutdown(context.Background())
	if otelglobal.IsDefault(sdk) {
		t.Fatal("an SDK provider taken for the global one")
	}
	otel.SetTracerProvider(sdk)
	if otelglobal.Unset(tp) {
		t.Fatal("Unset = true after otel.SetTracerProvider")
	}
	call(t, meter)
	spans := exp.GetSpans()
	if len(spans) != 1 || spans[0].Name != "chat claude-x" {
		t.Fatalf("after the SDK was installed: %d spans %v, want the call's", len(spans), spans)
	}
	var usage bool
	for _, a := range spans[0].Attributes {
		usage = usage || (string(a.Key) == "gen_ai.usage.output_tokens" && a.Value.AsInt64() == 7)
	}
	if !usage {
		t.Fatalf("span attributes %v lack the usage", spans[0].Attributes)
	}
}
