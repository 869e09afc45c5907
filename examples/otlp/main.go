// Command otlp is what `make otlp-demo` runs: sluice's metrics exported over
// OTLP/HTTP to a real receiver — the Jaeger v2 binary, whose embedded
// OpenTelemetry Collector runs an OTLP metrics pipeline into a Prometheus
// exporter — and shown arriving by scraping that exporter.
package main

import (
	"bufio"
	"context"
	"fmt"
	"log"
	"net/http"
	"strings"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/sluicehq/sluice/examples/internal/jaegerproc"
	"github.com/sluicehq/sluice/limiter"
	"github.com/sluicehq/sluice/llmtest"
	"github.com/sluicehq/sluice/telemetry"
	"github.com/sluicehq/sluice/telemetry/otlp"
	"github.com/sluicehq/sluice/transport"
)

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	j, p, err := jaegerproc.Exporting(ctx, "sluice-otlp-demo", otlp.WithMetricInterval(500*time.Millisecond))
	if err != nil {
		return err
	}
	defer j.Stop()
	fmt.Printf("OTLP receiver (Jaeger's collector) at %s; metrics re-exported at %s\n", j.OTLPEndpoint, j.MetricsURL)
	srv := llmtest.NewServer(llmtest.Config{Window: time.Second, Quota: llmtest.Quota{Requests: 20}})
	defer srv.Close()
	lim := limiter.New(limiter.WithWindow(time.Second)) // the fake API's window
	defer lim.Close()
	tr := transport.New(nil, transport.WithLimit(transport.LimitSettings{Limiter: lim}), transport.WithTelemetry(
		telemetry.WithTracerProvider(p.TracerProvider), telemetry.WithMeterProvider(p.MeterProvider)))
	defer tr.Close()
	client := anthropic.NewClient(option.WithHTTPClient(&http.Client{Transport: tr}), option.WithMaxRetries(0),
		option.WithoutOpenTelemetry(), option.WithBaseURL(srv.URL), option.WithAPIKey("otlp-demo"))
	for i := range 40 {
		if _, err := client.Messages.New(ctx, anthropic.MessageNewParams{
			Model: "claude-sonnet-4-5", MaxTokens: 32,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(
				fmt.Sprintf("Question %d.", i)))},
		}); err != nil {
			return err
		}
	}
	if err := p.Shutdown(ctx); err != nil { // flushes the last metrics
		return err
	}
	lines, err := scrape(ctx, j.MetricsURL)
	if err != nil {
		return err
	}
	fmt.Printf("\nmetrics that arrived over OTLP (%d series; GenAI and sluice ones shown):\n", len(lines))
	for _, l := range lines {
		if strings.HasPrefix(l, "gen_ai_client_token_usage_sum") || strings.HasPrefix(l, "gen_ai_client_operation_duration_seconds_count") ||
			strings.HasPrefix(l, "sluice_") && !strings.Contains(l, "_bucket") {
			fmt.Println(" ", l)
		}
	}
	return nil
}

// scrape waits until the Prometheus exporter shows sluice's metrics and
// returns its sample lines.
func scrape(ctx context.Context, url string) ([]string, error) {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			var lines []string
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				if l := sc.Text(); l != "" && !strings.HasPrefix(l, "#") {
					lines = append(lines, l)
				}
			}
			resp.Body.Close()
			for _, l := range lines {
				if strings.HasPrefix(l, "gen_ai_client_token_usage") {
					return lines, nil
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil, fmt.Errorf("no gen_ai_client_token_usage at %s", url)
}
