package telemetry

import "go.opentelemetry.io/otel/attribute"

// Names the limit layer emits (transport.Limit). docs/limiter.md documents
// them with units and attributes.
const (
	// SpanLimiterWait is an INTERNAL span covering the time a request
	// waited in the limiter; it exists only when the request waited.
	SpanLimiterWait = "sluice.limiter.wait"

	// MetricLimiterWaitDuration is a histogram (s) of the waits of requests
	// that waited, by AttrLimiterReason.
	MetricLimiterWaitDuration = "sluice.limiter.wait.duration"
	// MetricLimiterQueueLength is a gauge ({request}) of acquires waiting,
	// per AttrLimitKey.
	MetricLimiterQueueLength = "sluice.limiter.queue.length"
	// MetricLimiterInFlight is a gauge ({request}) of requests holding a
	// concurrency slot, per AttrLimitKey.
	MetricLimiterInFlight = "sluice.limiter.inflight"
	// MetricLimiterLimit is a gauge of the limit per window in effect, per
	// AttrLimitKey and AttrLimiterKind ({request} or {token}).
	MetricLimiterLimit = "sluice.limiter.limit"
	// MetricLimiterRemaining is a gauge of what is left now, per
	// AttrLimitKey and AttrLimiterKind.
	MetricLimiterRemaining = "sluice.limiter.remaining"
	// MetricLimiterUtilization is a gauge (1) of the used share of each
	// limit, 0..1, per AttrLimitKey and AttrLimiterKind.
	MetricLimiterUtilization = "sluice.limiter.utilization"
	// MetricLimiterRejections is a counter ({request}) of acquires refused
	// without waiting, by AttrErrorType: queue_full, deadline, too_large.
	MetricLimiterRejections = "sluice.limiter.rejections"
)

// Attribute keys of the limit layer.
const (
	// AttrLimiterReason is why a request waited: requests, input_tokens,
	// output_tokens, tokens, concurrency or cooldown.
	AttrLimiterReason = attribute.Key("sluice.limiter.reason")
	// AttrLimiterKind is the kind of limit: requests, input_tokens,
	// output_tokens or tokens.
	AttrLimiterKind = attribute.Key("sluice.limiter.kind")
)
