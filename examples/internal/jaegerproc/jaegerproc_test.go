package jaegerproc

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/sluicehq/sluice/telemetry/otlp"
)

// Need returns the Jaeger binary or skips the test; under CI=true a missing
// binary fails the test instead, so CI never silently skips it.
func need(t *testing.T) string {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return bin
}

func TestJaegerRoundTrip(t *testing.T) {
	bin := need(t)
	ctx := context.Background()
	j, err := Start(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Stop()

	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", j.OTLPEndpoint)
	p, err := otlp.Setup(ctx, otlp.WithServiceName("jaegerproc-test"), otlp.WithoutGlobal())
	if err != nil {
		t.Fatal(err)
	}
	_, span := p.TracerProvider.Tracer("t").Start(ctx, "round-trip")
	span.End()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		traces, err := j.Traces(ctx, "jaegerproc-test", 10)
		if err == nil && len(traces) == 1 && len(traces[0].Spans) == 1 {
			if got := traces[0].Spans[0].OperationName; got != "round-trip" {
				t.Fatalf("operation = %q", got)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("trace never arrived: %v %v\n%s", traces, err, j.Logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
