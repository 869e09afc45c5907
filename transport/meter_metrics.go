package transport

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/sluicehq/sluice/internal/provider"
	"github.com/sluicehq/sluice/internal/readmostly"
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

// The callers ask Enabled first, so that with a no-op MeterProvider no
// attribute set is looked up or built.

func (ins meterInstruments) recordTokens(ctx context.Context, in, out int64, sets *meterSets) {
	if !ins.tokens.Enabled(ctx) {
		return
	}
	ins.tokens.Record(ctx, in, sets.input...)
	ins.tokens.Record(ctx, out, sets.output...)
}

func (ins meterInstruments) recordDuration(ctx context.Context, d time.Duration, sets *meterSets) {
	ins.duration.Record(ctx, d.Seconds(), sets.call...)
}

func (ins meterInstruments) recordFirstChunk(ctx context.Context, d time.Duration, sets *meterSets) {
	ins.firstChunk.Record(ctx, d.Seconds(), sets.call...)
}

// meterSetKey is what a call's metric attributes are made of.
type meterSetKey struct {
	kind                          provider.Kind
	api                           provider.API
	host                          string
	port                          int
	model, responseModel, errType string
}

// meterSets are the record options of one combination of attributes,
// built once: an attribute set is an allocation, a sort and a hash, and a
// call records up to three of them (tokens ×2, duration). Those without a
// response model or error type also give the span its name and its common
// attributes.
type meterSets struct {
	call          []metric.RecordOption // duration, time to first chunk
	input, output []metric.RecordOption // token usage by gen_ai.token.type
	attrs         []attribute.KeyValue  // read-only
	spanName      string
}

func newMeterSets(attrs []attribute.KeyValue, spanName string) *meterSets {
	n := len(attrs)
	in := append(attrs[:n:n], telemetry.AttrTokenType.String(telemetry.TokenTypeInput))
	out := append(attrs[:n:n], telemetry.AttrTokenType.String(telemetry.TokenTypeOutput))
	return &meterSets{
		attrs:    attrs[:n:n],
		spanName: spanName,
		call:     []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attrs...))},
		input:    []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(in...))},
		output:   []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(out...))},
	}
}

// maxMeterSets bounds the cache: the model names come from request
// bodies, so their number is the application's to choose. Past the bound,
// calls build their sets as before the cache.
const maxMeterSets = 256

// meterSetCache holds the meterSets of the combinations seen so far.
type meterSetCache = readmostly.Map[meterSetKey, *meterSets]

func newMeterSetCache() *meterSetCache { return readmostly.New[meterSetKey, *meterSets](maxMeterSets) }
