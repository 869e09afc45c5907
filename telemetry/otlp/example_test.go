package otlp_test

import (
	"context"
	"log"

	"github.com/sluicehq/sluice/telemetry/otlp"
)

// Setup reads OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318)
// and friends; Shutdown flushes what is buffered.
func ExampleSetup() {
	ctx := context.Background()
	p, err := otlp.Setup(ctx, otlp.WithServiceName("my-agent"))
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = p.Shutdown(ctx) }()
	// ... build clients with transport.New(nil): sluice records through the
	// global providers Setup installed.
}
