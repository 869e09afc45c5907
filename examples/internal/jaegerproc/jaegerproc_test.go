package jaegerproc

import (
	"context"
	"testing"
	"time"

	"github.com/sluicehq/sluice/telemetry/otlp"
)

func TestJaegerRoundTrip(t *testing.T) {
	Need(t)
	ctx := context.Background()
	j, err := StartDefault(ctx)
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
