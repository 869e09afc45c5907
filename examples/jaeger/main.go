// Command jaeger is what `make jaeger-demo` runs: it starts a real Jaeger v2
// process (in-memory storage) on loopback, sends calls through
// anthropic-sdk-go and sluice to llmtest with OTLP export to that Jaeger, one
// of them rate limited, then reads the rate-limited call's trace back from
// Jaeger's query API and prints it as a tree with durations. It stops Jaeger
// at the end.
//
// A Jaeger built from Go source serves no UI. To look at the same trace in
// the UI, run Jaeger's released distribution (binary or container) with
// OTLP on 4318 and point the demo at it: OTEL_EXPORTER_OTLP_ENDPOINT=
// http://localhost:4318 go run ./quickstart, then open
// http://localhost:16686 and pick service sluice-quickstart.
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/sluicehq/sluice/examples/internal/jaegerproc"
	"github.com/sluicehq/sluice/llmtest"
	"github.com/sluicehq/sluice/telemetry"
	"github.com/sluicehq/sluice/transport"
)

const service = "sluice-jaeger-demo"

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	j, p, err := jaegerproc.Exporting(ctx, service)
	if err != nil {
		return err
	}
	defer j.Stop()
	fmt.Printf("Jaeger running: OTLP %s, query API %s\n", j.OTLPEndpoint, j.QueryURL)

	srv := llmtest.NewServer(llmtest.Config{Latency: 20 * time.Millisecond})
	defer srv.Close()
	// The third call meets a 429 whose retry-after-ms asks for 300 ms.
	tr := transport.New(nil, transport.WithTelemetry(
		telemetry.WithTracerProvider(p.TracerProvider), telemetry.WithMeterProvider(p.MeterProvider)))
	defer tr.Close()
	client := anthropic.NewClient(
		option.WithHTTPClient(&http.Client{Transport: tr}), option.WithMaxRetries(0),
		option.WithTracerProvider(p.TracerProvider),
		option.WithBaseURL(srv.URL), option.WithAPIKey("jaeger-demo"))
	for i := range 5 {
		if i == 2 {
			srv.Inject(llmtest.Fault{Kind: llmtest.FaultStatus, Status: 429, RetryAfter: "1", RetryAfterMs: "300"})
		}
		_, err := client.Messages.New(ctx, anthropic.MessageNewParams{
			Model: "claude-sonnet-4-5", MaxTokens: 64,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(
				fmt.Sprintf("Summarise document %d.", i)))},
		})
		if err != nil {
			return err
		}
	}
	if err := p.Shutdown(ctx); err != nil {
		return err
	}
	t, err := findRateLimited(ctx, j)
	if err != nil {
		return err
	}
	fmt.Printf("\ntrace %s of the rate-limited call, as Jaeger stored it:\n\n", t.TraceID)
	t.Print(os.Stdout)
	fmt.Printf("\n(%s/api/traces/%s has the full JSON while Jaeger runs.)\n", j.QueryURL, t.TraceID)
	return nil
}

// findRateLimited polls Jaeger until the trace with a 429 attempt arrives.
func findRateLimited(ctx context.Context, j *jaegerproc.Jaeger) (jaegerproc.Trace, error) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		traces, err := j.Traces(ctx, service, 20)
		if err == nil {
			for _, t := range traces {
				for _, s := range t.Spans {
					if v, ok := s.Tag("http.response.status_code").(float64); ok && v == 429 && len(t.Spans) >= 4 {
						return t, nil
					}
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return jaegerproc.Trace{}, fmt.Errorf("the rate-limited trace never arrived in Jaeger\n%s", j.Logs())
}
