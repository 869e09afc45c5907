package transport

import (
	"context"

	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/metric"

	"github.com/sluicehq/sluice/telemetry"
)

type breakerInstruments struct {
	transitions metric.Int64Counter
	rejections  metric.Int64Counter
	// reg is the state gauge's callback, which holds the breaker: a
	// Transport unregisters it on Close.
	reg metric.Registration
}

// newBreakerInstruments creates the breaker's instruments on m; instrument
// errors leave no-op instruments, as the OpenTelemetry API specifies.
func newBreakerInstruments(m metric.Meter, b *breakerTransport) breakerInstruments {
	var ins breakerInstruments
	ins.transitions, _ = m.Int64Counter(telemetry.MetricBreakerTransitions, metric.WithUnit("{transition}"),
		metric.WithDescription("Circuit breaker state transitions."))
	ins.rejections, _ = m.Int64Counter(telemetry.MetricBreakerRejections, metric.WithUnit("{request}"),
		metric.WithDescription("Calls refused by an open circuit breaker."))
	state, _ := m.Int64ObservableGauge(telemetry.MetricBreakerState, metric.WithUnit("{state}"),
		metric.WithDescription("Circuit breaker state: 0 closed, 1 half-open, 2 open."))
	// Registered apart from the gauge, unlike an instrument callback, so
	// that it can be unregistered.
	ins.reg, _ = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		b.observeStates(o, state)
		return nil
	}, state)
	return ins
}

// unregister removes the state gauge's callback.
func (ins *breakerInstruments) unregister() {
	if ins.reg != nil {
		_ = ins.reg.Unregister()
	}
}

func (b *breakerTransport) observeStates(o metric.Observer, state metric.Int64Observable) {
	b.mu.Lock()
	entries := make([]*breakerEntry, 0, len(b.entries))
	for _, e := range b.entries {
		entries = append(entries, e)
	}
	b.mu.Unlock()
	for _, e := range entries {
		e.mu.Lock()
		s := e.state
		e.mu.Unlock()
		o.ObserveInt64(state, stateValue(s), metric.WithAttributes(telemetry.AttrLimitKey.String(e.key)))
	}
}

func stateValue(s gobreaker.State) int64 {
	switch s {
	case gobreaker.StateHalfOpen:
		return 1
	case gobreaker.StateOpen:
		return 2
	}
	return 0
}
