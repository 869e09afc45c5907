package telemetry

import "go.opentelemetry.io/otel/attribute"

// Names the retry layer (transport.Retry, transport.Attempt) emits. They are
// documented with units and attributes in docs/retry.md.
const (
	// MetricRetryAttempts counts physical attempts the retry layer made
	// ({attempt}); attributes AttrHTTPStatus (when a response arrived),
	// AttrErrorType (transport errors), AttrRetryOutcome.
	MetricRetryAttempts = "sluice.retry.attempts"
	// MetricRetryRetries counts retries decided ({retry}); attributes
	// AttrRetryReason and AttrHTTPStatus (0 for a transport error).
	MetricRetryRetries = "sluice.retry.retries"
	// MetricRetryDelay is the histogram of retry waits in seconds (s);
	// attribute AttrRetryWaitSource.
	MetricRetryDelay = "sluice.retry.delay"
	// MetricRetryBudgetExhausted counts retries the retry budget refused
	// ({retry}); attribute AttrRetryReason.
	MetricRetryBudgetExhausted = "sluice.retry.budget.exhausted"
	// MetricRetryCooldownWaits counts requests held back by the shared
	// cool-down before being sent ({wait}).
	MetricRetryCooldownWaits = "sluice.retry.cooldown.waits"
	// MetricRetryGiveUps counts calls the layer stopped retrying although
	// the last attempt was retryable ({call}); attribute AttrRetryGiveUp.
	MetricRetryGiveUps = "sluice.retry.give_ups"

	// EventRetryWait is the span event added to the caller's span before
	// each wait; attributes AttrRetryWaitDelay, AttrRetryWaitSource,
	// AttrRetryAttempt, AttrRetryReason, AttrHTTPStatus.
	EventRetryWait = "sluice.retry.wait"
	// EventRetryGiveUp is the span event added when the layer stops
	// retrying a retryable failure; attributes AttrRetryGiveUp,
	// AttrRetryAttempt, AttrRetryReason.
	EventRetryGiveUp = "sluice.retry.give_up"
)

// Attribute keys of the retry layer.
const (
	// AttrRetryReason is why an attempt was retryable: "rate_limited"
	// (429), "overloaded" (529), "server_error" (500/502/503/504),
	// "timeout" (408), "conflict" (409), "should_retry" (x-should-retry:
	// true on another status), "stream_error" (an SSE stream whose first
	// event was an overloaded/rate-limit error) or "transport_error".
	AttrRetryReason = attribute.Key("sluice.retry.reason")
	// AttrRetryWaitSource is where a wait's length came from:
	// "retry-after-ms", "retry-after", "backoff" or "cooldown".
	AttrRetryWaitSource = attribute.Key("sluice.wait.source")
	// AttrRetryWaitDelay is the length of a wait in seconds (double).
	AttrRetryWaitDelay = attribute.Key("sluice.wait.delay")
	// AttrRetryAttempt is the 0-based number of the attempt a wait
	// precedes (1 = first retry), or of the last attempt on give-up.
	AttrRetryAttempt = attribute.Key("sluice.retry.attempt")
	// AttrRetryGiveUp is why the layer stopped retrying: "max_attempts",
	// "max_elapsed", "deadline", "server_delay_too_long", "budget",
	// "not_replayable", "hard_limit" or "should_retry_false".
	AttrRetryGiveUp = attribute.Key("sluice.retry.give_up")
	// AttrRetryOutcome is what the layer did with an attempt: "done"
	// (returned it), "retry" or "give_up".
	AttrRetryOutcome = attribute.Key("sluice.retry.outcome")
)
