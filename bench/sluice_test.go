package bench

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Telemetry is the pair of OpenTelemetry providers a sluice set-up records
// with.
type Telemetry struct {
	Tracer trace.TracerProvider
	Meter  metric.MeterProvider
}

// Layer builds one sluice layer (or the whole stack) over next.
type Layer func(next http.RoundTripper, tel Telemetry) http.RoundTripper

// layers holds the sluice layers this build knows about, by name. Each
// lives in its own file behind a build tag (sluice_<name>) that bench/run.sh
// sets only when the layer is on main, so the harness compiles, and reports
// "pending", before the layer lands.
var layers = map[string]Layer{}

// Layer names, in stack order, outermost first; "new" is transport.New.
const (
	layerNew     = "new"
	layerMeter   = "meter"
	layerRetry   = "retry"
	layerBreaker = "breaker"
	layerLimit   = "limit"
	layerAttempt = "attempt"
)

// goodputStack builds sluice's default stack for the SDK scenarios, told
// only what a compressed scenario needs: the fake's quota window (the real
// providers' is the default minute) and, in the outage, breaker timings
// compressed like the outage. Nil until transport.New is on main.
var goodputStack func(base http.RoundTripper, sc scenario) http.RoundTripper

// waitQueue is a limiter with one concurrency slot, seen by the scale
// benchmark: Hold takes the slot, Wait queues behind it until ctx ends.
type waitQueue interface {
	Hold(ctx context.Context) (release func(), err error)
	Wait(ctx context.Context) error
	Queued() int
	Close()
}

// newLimiterQueue returns sluice's limiter as a waitQueue. Nil until the
// limiter is on main.
var newLimiterQueue func() waitQueue
