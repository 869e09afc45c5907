package main

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/metric"
)

// The demo's sluice run, scaled down: through the quota and the outage every
// call succeeds, no 429 is served after the first wave, nobody comes back
// before a retry-after, and the metered tokens equal the server's count.
func TestQuickstartSluiceRun(t *testing.T) {
	f := flags{calls: 120, workers: 20, window: time.Second,
		outageAt: time.Second, outageFor: 700 * time.Millisecond, model: "claude-test"}
	ctx := context.Background()
	reader := metric.NewManualReader()
	exp, err := setupExport(ctx, reader)
	if err != nil {
		t.Fatal(err)
	}
	defer exp.shutdown(ctx)
	res := runSluice(ctx, f, newServer(f), exp, reader)
	if res.failed != 0 {
		t.Errorf("%d calls failed: %s", res.failed, res.firstErr)
	}
	if res.server.RateLimited > int64(f.workers) {
		t.Errorf("429s served = %d, want at most the first wave (%d)", res.server.RateLimited, f.workers)
	}
	if res.server.HerdArrivals != 0 {
		t.Errorf("herd arrivals = %d", res.server.HerdArrivals)
	}
	if in, out := res.metrics.tokens["input"], res.metrics.tokens["output"]; in != res.server.InputTokens || out != res.server.OutputTokens {
		t.Errorf("metered tokens %d/%d, server counted %d/%d", in, out, res.server.InputTokens, res.server.OutputTokens)
	}
	t.Logf("wall %v, arrivals %d, 429s %d, 529s %d, breaker trips %d",
		res.wall, res.server.Arrivals, res.server.RateLimited, res.server.ByStatus[529], res.metrics.breakerOpens)
}
