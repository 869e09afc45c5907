package telemetry

import "go.opentelemetry.io/otel/attribute"

// GenAI semantic-convention names used by the meter layer (transport.Meter).
// They are sluice's own constants, copied from semconv v1.41.0 (the last Go
// semconv with GenAI), so a future removal cannot break the build.
const (
	// MetricGenAITokenUsage is the Int64Histogram gen_ai.client.token.usage
	// ({token}), one record per token type.
	MetricGenAITokenUsage = "gen_ai.client.token.usage"
	// MetricGenAIOperationDuration is the Float64Histogram
	// gen_ai.client.operation.duration (s): the whole logical call, to the
	// end of the body (of the stream).
	MetricGenAIOperationDuration = "gen_ai.client.operation.duration"
	// MetricGenAITimeToFirstChunk is the Float64Histogram
	// gen_ai.client.operation.time_to_first_chunk (s), streams only: from
	// the start of the call to the first byte of the event stream.
	MetricGenAITimeToFirstChunk = "gen_ai.client.operation.time_to_first_chunk"

	// SpanCall is the INTERNAL span the meter creates instead of a GenAI
	// span when the SDK (anthropic-sdk-go v2) already made one.
	SpanCall = "sluice.call"

	AttrResponseModel        = attribute.Key("gen_ai.response.model")
	AttrTokenType            = attribute.Key("gen_ai.token.type")
	AttrRequestStream        = attribute.Key("gen_ai.request.stream")
	AttrRequestMaxTokens     = attribute.Key("gen_ai.request.max_tokens")
	AttrUsageInputTokens     = attribute.Key("gen_ai.usage.input_tokens")
	AttrUsageOutputTokens    = attribute.Key("gen_ai.usage.output_tokens")
	AttrUsageCacheRead       = attribute.Key("gen_ai.usage.cache_read.input_tokens")
	AttrUsageCacheCreation   = attribute.Key("gen_ai.usage.cache_creation.input_tokens")
	AttrUsageReasoning       = attribute.Key("gen_ai.usage.reasoning.output_tokens")
	AttrServerAddress        = attribute.Key("server.address")
	AttrServerPort           = attribute.Key("server.port")
	AttrTimeToFirstChunk     = attribute.Key("gen_ai.response.time_to_first_chunk")
	AttrUsageKnown           = attribute.Key("sluice.usage.known")
	AttrUsageIncludeInjected = attribute.Key("sluice.usage.include_usage_injected")
)

// Token types of gen_ai.token.type.
const (
	TokenTypeInput  = "input"
	TokenTypeOutput = "output"
)

// Bucket boundaries the GenAI metric conventions recommend; the typed
// semconv helpers set none, so sluice sets them explicitly.
var (
	GenAITokenUsageBuckets = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144,
		1048576, 4194304, 16777216, 67108864}
	GenAIDurationBuckets = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56,
		5.12, 10.24, 20.48, 40.96, 81.92}
)
