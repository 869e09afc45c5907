package transport

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/sluicehq/sluice/telemetry"
)

type meterInstruments struct {
	tokens     metric.Int64Histogram
	duration   metric.Float64Histogram
	firstChunk metric.Float64Histogram
}

// newMeterInstruments creates the GenAI instruments with the conventions'
// names, units and recommended buckets; errors leave no-op instruments.
func newMeterInstruments(m metric.Meter) meterInstruments {
	var ins meterInstruments
	ins.tokens, _ = m.Int64Histogram(telemetry.MetricGenAITokenUsage, metric.WithUnit("{token}"),
		metric.WithDescription("Number of input and output tokens used."),
		metric.WithExplicitBucketBoundaries(telemetry.GenAITokenUsageBuckets...))
	ins.duration, _ = m.Float64Histogram(telemetry.MetricGenAIOperationDuration, metric.WithUnit("s"),
		metric.WithDescription("GenAI operation duration."),
		metric.WithExplicitBucketBoundaries(telemetry.GenAIDurationBuckets...))
	ins.firstChunk, _ = m.Float64Histogram(telemetry.MetricGenAITimeToFirstChunk, metric.WithUnit("s"),
		metric.WithDescription("Time to receive the first chunk of a streaming response."),
		metric.WithExplicitBucketBoundaries(telemetry.GenAIDurationBuckets...))
	return ins
}

// enabled reports whether any of the call's metrics records anything.
func (ins meterInstruments) enabled(ctx context.Context) bool {
	return ins.tokens.Enabled(ctx) || ins.duration.Enabled(ctx) || ins.firstChunk.Enabled(ctx)
}

// Each record first asks Enabled, so that with a no-op MeterProvider the
// attribute sets (an allocation and a sort each) are never built.

func (ins meterInstruments) recordTokens(ctx context.Context, in, out int64, attrs []attribute.KeyValue) {
	if !ins.tokens.Enabled(ctx) {
		return
	}
	n := len(attrs)
	a := append(attrs[:n:n], telemetry.AttrTokenType.String(telemetry.TokenTypeInput))
	ins.tokens.Record(ctx, in, metric.WithAttributes(a...))
	a[n] = telemetry.AttrTokenType.String(telemetry.TokenTypeOutput)
	ins.tokens.Record(ctx, out, metric.WithAttributes(a...))
}

func (ins meterInstruments) recordDuration(ctx context.Context, d time.Duration, attrs []attribute.KeyValue) {
	if !ins.duration.Enabled(ctx) {
		return
	}
	ins.duration.Record(ctx, d.Seconds(), metric.WithAttributes(attrs...))
}

func (ins meterInstruments) recordFirstChunk(ctx context.Context, d time.Duration, attrs []attribute.KeyValue) {
	if !ins.firstChunk.Enabled(ctx) {
		return
	}
	ins.firstChunk.Record(ctx, d.Seconds(), metric.WithAttributes(attrs...))
}
