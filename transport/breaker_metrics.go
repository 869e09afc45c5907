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
}

// newBreakerInstruments creates the breaker's instruments on m; instrument
// errors leave no-op instruments, as the OpenTelemetry API specifies.
func newBreakerInstruments(m metric.Meter, b *breakerTransport) breakerInstruments {
	var ins breakerInstruments
	ins.transitions, _ = m.Int64Counter(telemetry.MetricBreakerTransitions, metric.WithUnit("{transition}"),
		metric.WithDescription("Circuit breaker state transitions."))
	ins.rejections, _ = m.Int64Counter(telemetry.MetricBreakerRejections, metric.WithUnit("{request}"),
		metric.WithDescription("Calls refused by an open circuit breaker."))
	_, _ = m.Int64ObservableGauge(telemetry.MetricBreakerState, metric.WithUnit("{state}"),
		metric.WithDescription("Circuit breaker state: 0 closed, 1 half-open, 2 open."),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			b.observeStates(o)
			return nil
		}))
	return ins
}

func (b *breakerTransport) observeStates(o metric.Int64Observer) {
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
		o.Observe(stateValue(s), metric.WithAttributes(telemetry.AttrLimitKey.String(e.key)))
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
