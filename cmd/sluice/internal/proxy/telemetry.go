package proxy

import (
	"context"
	"fmt"
	"net/http"

	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/sluicehq/sluice/telemetry"
	"github.com/sluicehq/sluice/telemetry/otlp"
)

// observability is where the proxy's spans and metrics go: OTLP when
// configured, Prometheus at /metrics when enabled, both from one
// MeterProvider.
type observability struct {
	options  []telemetry.Option // for the stack and the Redis store
	metrics  http.Handler       // nil when --metrics=false
	shutdown func(context.Context) error
}

// serviceName is service.name unless OTEL_SERVICE_NAME says otherwise.
const serviceName = "sluice-proxy"

// propagator reads and writes W3C trace context (and baggage).
var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

func setupTelemetry(ctx context.Context, c Config) (*observability, error) {
	// The proxy is a program: it owns the globals. otelhttp (the attempt
	// layer) writes the trace context of each attempt with the global
	// propagator.
	otel.SetTextMapPropagator(propagator)
	o := &observability{shutdown: func(context.Context) error { return nil }}
	var readers []sdkmetric.Reader
	if c.Metrics {
		reg := promclient.NewRegistry()
		exp, err := prometheus.New(prometheus.WithRegisterer(reg))
		if err != nil {
			return nil, fmt.Errorf("prometheus exporter: %w", err)
		}
		readers = append(readers, exp)
		o.metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	}
	if c.OTLP {
		opts := []otlp.Option{otlp.WithServiceName(serviceName), otlp.WithoutGlobal()}
		for _, r := range readers {
			opts = append(opts, otlp.WithMetricReader(r))
		}
		p, err := otlp.Setup(ctx, opts...)
		if err != nil {
			return nil, err
		}
		o.options = []telemetry.Option{telemetry.WithTracerProvider(p.TracerProvider), telemetry.WithMeterProvider(p.MeterProvider)}
		o.shutdown = p.Shutdown
		return o, nil
	}
	if len(readers) > 0 {
		res, err := resource.New(ctx, resource.WithTelemetrySDK(),
			resource.WithAttributes(attribute.String("service.name", serviceName)), resource.WithFromEnv())
		if err != nil {
			return nil, fmt.Errorf("resource: %w", err)
		}
		mopts := []sdkmetric.Option{sdkmetric.WithResource(res)}
		for _, r := range readers {
			mopts = append(mopts, sdkmetric.WithReader(r))
		}
		mp := sdkmetric.NewMeterProvider(mopts...)
		o.options = []telemetry.Option{telemetry.WithMeterProvider(mp)}
		o.shutdown = mp.Shutdown
	}
	return o, nil
}

// continueTrace returns r's context carrying the caller's W3C trace
// context (traceparent, tracestate), so the proxy's spans join its trace.
func continueTrace(r *http.Request) context.Context {
	return propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
}
