package telemetry

import "go.opentelemetry.io/otel/attribute"

// Names of the breaker layer (transport.Breaker).
const (
	// MetricBreakerState is the Int64ObservableGauge "sluice.breaker.state"
	// (unit "{state}"): 0 closed, 1 half-open, 2 open, per sluice.key.
	MetricBreakerState = "sluice.breaker.state"
	// MetricBreakerTransitions is the Int64Counter
	// "sluice.breaker.transitions" (unit "{transition}"), with sluice.key,
	// sluice.breaker.from and sluice.breaker.to.
	MetricBreakerTransitions = "sluice.breaker.transitions"
	// MetricBreakerRejections is the Int64Counter "sluice.breaker.rejections"
	// (unit "{request}"): calls refused with a BreakerOpenError, with
	// sluice.key and sluice.breaker.reason.
	MetricBreakerRejections = "sluice.breaker.rejections"

	// EventBreakerStateChange is the span event added to the call whose
	// outcome (or arrival) changed a breaker's state.
	EventBreakerStateChange = "sluice.breaker.state_change"
	// EventBreakerWait is the span event of a call that waits for an open
	// breaker, with sluice.breaker.retry_at.
	EventBreakerWait = "sluice.breaker.wait"
	// EventBreakerReject is the span event of a call refused by an open
	// breaker, with sluice.breaker.reason.
	EventBreakerReject = "sluice.breaker.reject"

	// AttrBreakerFrom and AttrBreakerTo are the states of a transition:
	// "closed", "half-open" or "open".
	AttrBreakerFrom = attribute.Key("sluice.breaker.from")
	AttrBreakerTo   = attribute.Key("sluice.breaker.to")
	// AttrBreakerReason says why a call was refused: "fail_fast" (the
	// caller opted out of waiting), "deadline" (its deadline ends before
	// the next probe) or "canceled" (its context ended while waiting).
	AttrBreakerReason = attribute.Key("sluice.breaker.reason")
	// AttrBreakerRetryAt is when the breaker lets the next probe through,
	// RFC 3339 with milliseconds.
	AttrBreakerRetryAt = attribute.Key("sluice.breaker.retry_at")
)
