// Package otlp sets up OpenTelemetry trace and metric export over OTLP/HTTP
// for applications and examples that use sluice, configured by the standard
// OTEL_* environment variables.
//
// It is a separate module so that the exporters (and the gRPC and protobuf
// modules they pull in) never enter the dependency graph of a program that
// imports only sluice's transport package.
//
// The exporters read, among others, OTEL_EXPORTER_OTLP_ENDPOINT,
// OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_TIMEOUT,
// OTEL_EXPORTER_OTLP_COMPRESSION and their _TRACES_ and _METRICS_ variants;
// the resource reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
package otlp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Option configures Setup.
type Option func(*config)

type config struct {
	serviceName    string
	metricInterval time.Duration
	setGlobal      bool
	readers        []sdkmetric.Reader
}

// WithServiceName sets service.name when OTEL_SERVICE_NAME does not.
func WithServiceName(name string) Option { return func(c *config) { c.serviceName = name } }

// WithMetricInterval sets how often metrics are exported (default 10s).
// Shutdown always exports what is left.
func WithMetricInterval(d time.Duration) Option {
	return func(c *config) { c.metricInterval = d }
}

// WithMetricReader adds r to the MeterProvider beside the OTLP exporter,
// for example a sdkmetric.ManualReader an application reads its own
// numbers from.
func WithMetricReader(r sdkmetric.Reader) Option {
	return func(c *config) { c.readers = append(c.readers, r) }
}

// WithoutGlobal keeps the providers out of the otel globals; pass them to
// sluice with telemetry.WithTracerProvider and telemetry.WithMeterProvider.
func WithoutGlobal() Option { return func(c *config) { c.setGlobal = false } }

// Providers are the SDK providers Setup built.
type Providers struct {
	TracerProvider *sdktrace.TracerProvider
	MeterProvider  *sdkmetric.MeterProvider
}

// Shutdown flushes and stops both providers. Call it before the program
// exits, or spans still in the batch are lost.
func (p *Providers) Shutdown(ctx context.Context) error {
	return errors.Join(p.TracerProvider.Shutdown(ctx), p.MeterProvider.Shutdown(ctx))
}

// Setup builds a TracerProvider (batching OTLP/HTTP span exporter) and a
// MeterProvider (periodic OTLP/HTTP metric reader) from the OTEL_*
// environment, installs them and the W3C trace-context propagator as the
// otel globals (unless WithoutGlobal), and returns them.
func Setup(ctx context.Context, opts ...Option) (*Providers, error) {
	c := config{serviceName: "sluice", metricInterval: 10 * time.Second, setGlobal: true}
	for _, o := range opts {
		o(&c)
	}
	res, err := resource.Merge(resource.Default(),
		resource.NewSchemaless(semconv.ServiceName(c.serviceName)))
	if err != nil {
		return nil, fmt.Errorf("otlp: resource: %w", err)
	}
	// Environment last, so OTEL_SERVICE_NAME wins over the default name.
	if envRes, err := resource.New(ctx, resource.WithFromEnv()); err == nil {
		if merged, err := resource.Merge(res, envRes); err == nil {
			res = merged
		}
	}
	spanExp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("otlp: span exporter: %w", err)
	}
	metricExp, err := otlpmetrichttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("otlp: metric exporter: %w", err)
	}
	mopts := []sdkmetric.Option{
		sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metricExp, sdkmetric.WithInterval(c.metricInterval))),
		sdkmetric.WithResource(res),
	}
	for _, r := range c.readers {
		mopts = append(mopts, sdkmetric.WithReader(r))
	}
	p := &Providers{
		TracerProvider: sdktrace.NewTracerProvider(
			sdktrace.WithBatcher(spanExp, sdktrace.WithBatchTimeout(time.Second)),
			sdktrace.WithResource(res)),
		MeterProvider: sdkmetric.NewMeterProvider(mopts...),
	}
	if c.setGlobal {
		otel.SetTracerProvider(p.TracerProvider)
		otel.SetMeterProvider(p.MeterProvider)
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(
			propagation.TraceContext{}, propagation.Baggage{}))
	}
	return p, nil
}
