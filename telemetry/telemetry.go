// Package telemetry owns every OpenTelemetry name sluice emits — span names,
// span events, metric instruments and attribute keys — and the plumbing that
// hands each layer its Tracer and Meter.
//
// Each layer of package transport resolves its providers once, at
// construction, from the Options given to it. With no options it uses the
// global providers (otel.GetTracerProvider, otel.GetMeterProvider), which
// delegate to whatever the application installs later, so sluice can be
// constructed before telemetry is set up.
//
// The names are documented, with units and attributes, in docs/telemetry.md.
// GenAI names follow the OpenTelemetry GenAI semantic conventions
// (gen_ai.*); sluice's own resilience names live under sluice.*.
//
// sluice never records API keys, Authorization or x-api-key values, or
// prompt and completion text.
package telemetry

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// ScopeName is the instrumentation scope of every tracer and meter sluice
// creates.
const ScopeName = "github.com/sluicehq/sluice"

// Option configures where sluice sends its telemetry.
type Option func(*Providers)

// WithTracerProvider makes sluice create its spans with tp instead of the
// global TracerProvider.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(p *Providers) { p.TracerProvider = tp }
}

// WithMeterProvider makes sluice record its metrics with mp instead of the
// global MeterProvider.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(p *Providers) { p.MeterProvider = mp }
}

// Providers is the resolved pair of providers a layer records with.
type Providers struct {
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
}

// Resolve applies opts over the global providers.
func Resolve(opts ...Option) Providers {
	p := Providers{}
	for _, o := range opts {
		if o != nil {
			o(&p)
		}
	}
	if p.TracerProvider == nil {
		p.TracerProvider = otel.GetTracerProvider()
	}
	if p.MeterProvider == nil {
		p.MeterProvider = otel.GetMeterProvider()
	}
	return p
}

// Tracer returns sluice's tracer from p.
func (p Providers) Tracer() trace.Tracer { return p.TracerProvider.Tracer(ScopeName) }

// Meter returns sluice's meter from p.
func (p Providers) Meter() metric.Meter { return p.MeterProvider.Meter(ScopeName) }

// Disabled reports whether both providers are OpenTelemetry's no-op
// providers, passed explicitly: nothing would be recorded, so a layer may
// skip its instrumentation altogether (the attempt layer then adds no
// otelhttp wrapper). The global providers never count as disabled, since an
// SDK may be installed behind them later.
func (p Providers) Disabled() bool {
	_, noTraces := p.TracerProvider.(tracenoop.TracerProvider)
	_, noMetrics := p.MeterProvider.(metricnoop.MeterProvider)
	return noTraces && noMetrics
}
