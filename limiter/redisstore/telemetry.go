package redisstore

import (
	"context"

	"github.com/sluicehq/sluice/telemetry"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const (
	modeLocal  = "local"
	modeShared = "shared"
)

// instruments are the store's metrics, with their attribute sets built
// once.
type instruments struct {
	fallbacks, transitions metric.Int64Counter
	ops                    map[string]metric.AddOption
	modes                  map[string]metric.AddOption
}

func newInstruments(opts []telemetry.Option) instruments {
	m := telemetry.Resolve(opts...).Meter()
	fb, _ := m.Int64Counter(telemetry.MetricRedisStoreFallbacks, metric.WithUnit("{operation}"),
		metric.WithDescription("Limiter store operations served locally because Redis was unavailable."))
	tr, _ := m.Int64Counter(telemetry.MetricRedisStoreTransitions, metric.WithUnit("{transition}"),
		metric.WithDescription("Switches of the Redis limiter store between shared and local mode."))
	in := instruments{fallbacks: fb, transitions: tr, ops: map[string]metric.AddOption{}, modes: map[string]metric.AddOption{}}
	for _, op := range []string{opReserve, opAdjust, opObserve, opCooldown, opState, opBreakerRead, opBreakerWrite} {
		in.ops[op] = metric.WithAttributeSet(attribute.NewSet(telemetry.AttrRedisStoreOperation.String(op)))
	}
	for _, m := range []string{modeLocal, modeShared} {
		in.modes[m] = metric.WithAttributeSet(attribute.NewSet(telemetry.AttrRedisStoreMode.String(m)))
	}
	return in
}

func (in *instruments) fallback(ctx context.Context, op string) { in.fallbacks.Add(ctx, 1, in.ops[op]) }

func (in *instruments) transition(ctx context.Context, mode string) {
	in.transitions.Add(ctx, 1, in.modes[mode])
}
