package telemetry

import "go.opentelemetry.io/otel/attribute"

// Names of the Redis-backed limiter store (module
// github.com/sluicehq/sluice/limiter/redisstore). docs/distributed.md
// documents them.
const (
	// MetricRedisStoreFallbacks is the Int64Counter
	// "sluice.redisstore.fallbacks" (unit "{operation}"): store operations
	// served by local limits (or refused, when failing closed) because Redis
	// was unreachable or slow, by AttrRedisStoreOperation.
	MetricRedisStoreFallbacks = "sluice.redisstore.fallbacks"
	// MetricRedisStoreTransitions is the Int64Counter
	// "sluice.redisstore.transitions" (unit "{transition}"): switches between
	// shared and local mode, by AttrRedisStoreMode (the mode entered).
	MetricRedisStoreTransitions = "sluice.redisstore.transitions"
	// MetricBreakerSharedErrors is the Int64Counter
	// "sluice.breaker.shared.errors" (unit "{operation}"): reads or writes of
	// a breaker's shared verdict that failed, by AttrRedisStoreOperation.
	MetricBreakerSharedErrors = "sluice.breaker.shared.errors"
)

// Attribute keys of the Redis-backed store.
const (
	// AttrRedisStoreOperation is the store operation: "reserve", "adjust",
	// "observe", "cooldown" or "state" (for the breaker: "read", "write").
	AttrRedisStoreOperation = attribute.Key("sluice.redisstore.operation")
	// AttrRedisStoreMode is "shared" (Redis) or "local" (fallback limits).
	AttrRedisStoreMode = attribute.Key("sluice.redisstore.mode")
)
