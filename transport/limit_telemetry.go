package transport

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluicehq/sluice/limiter"
	"github.com/sluicehq/sluice/telemetry"
)

// limitInstruments records the limit layer's telemetry (names in
// telemetry/limiter.go).
type limitInstruments struct {
	tracer     trace.Tracer
	wait       metric.Float64Histogram
	rejections metric.Int64Counter
	// reg is the gauges' callback, which holds the limiter: a Transport
	// unregisters it on Close (Limit alone has no Close, so a layer's
	// callback lives as long as the MeterProvider).
	reg metric.Registration
}

func newLimitInstruments(p telemetry.Providers, l *limiter.Limiter) *limitInstruments {
	m := p.Meter()
	li := &limitInstruments{tracer: p.Tracer()}
	li.wait, _ = m.Float64Histogram(telemetry.MetricLimiterWaitDuration, metric.WithUnit("s"),
		metric.WithDescription("Time requests waited in the limiter, by reason; only requests that waited."),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120))
	li.rejections, _ = m.Int64Counter(telemetry.MetricLimiterRejections, metric.WithUnit("{request}"),
		metric.WithDescription("Acquires the limiter refused without waiting."))
	queue, _ := m.Int64ObservableGauge(telemetry.MetricLimiterQueueLength, metric.WithUnit("{request}"),
		metric.WithDescription("Acquires waiting in the limiter."))
	inflight, _ := m.Int64ObservableGauge(telemetry.MetricLimiterInFlight, metric.WithUnit("{request}"),
		metric.WithDescription("Requests holding a limiter concurrency slot."))
	limit, _ := m.Int64ObservableGauge(telemetry.MetricLimiterLimit,
		metric.WithDescription("Limit per window in effect (learned from the provider's headers or set)."))
	remaining, _ := m.Float64ObservableGauge(telemetry.MetricLimiterRemaining,
		metric.WithDescription("What is left of each limit now."))
	util, _ := m.Float64ObservableGauge(telemetry.MetricLimiterUtilization, metric.WithUnit("1"),
		metric.WithDescription("Used share of each limit, 0..1."))
	// Stats reads what the limiter holds in the process: a collection makes
	// no Store call, however many keys and whatever the store.
	li.reg, _ = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for _, s := range l.Stats() {
			key := metric.WithAttributes(telemetry.AttrLimitKey.String(s.Key))
			o.ObserveInt64(queue, int64(s.Queued), key)
			o.ObserveInt64(inflight, int64(s.InFlight), key)
			for k := range limiter.NumKinds {
				if s.Limits[k] <= 0 {
					continue
				}
				attrs := metric.WithAttributes(telemetry.AttrLimitKey.String(s.Key), telemetry.AttrLimiterKind.String(limiter.Kind(k).String()))
				o.ObserveInt64(limit, s.Limits[k], attrs)
				o.ObserveFloat64(remaining, s.Remaining[k], attrs)
				o.ObserveFloat64(util, s.Used[k]/float64(s.Limits[k]), attrs)
			}
		}
		return nil
	}, queue, inflight, limit, remaining, util)
	return li
}

// unregister removes the gauges' callback.
func (li *limitInstruments) unregister() {
	if li.reg != nil {
		_ = li.reg.Unregister()
	}
}

// acquired records one acquire: a wait span and histogram sample if it
// waited, a rejection count if it was refused at once.
func (li *limitInstruments) acquired(ctx context.Context, key, model string, start time.Time, r *limiter.Reservation, err error) {
	if err != nil {
		if typ := rejectionType(err); typ != "" {
			li.rejections.Add(ctx, 1, metric.WithAttributes(telemetry.AttrErrorType.String(typ), telemetry.AttrRequestModel.String(model)))
		}
		return
	}
	waited, reason := r.Waited()
	if waited <= 0 {
		return
	}
	end := time.Now()
	attrs := []attribute.KeyValue{telemetry.AttrLimiterReason.String(string(reason)), telemetry.AttrRequestModel.String(model)}
	li.wait.Record(ctx, end.Sub(start).Seconds(), metric.WithAttributes(attrs...))
	_, span := li.tracer.Start(ctx, telemetry.SpanLimiterWait, trace.WithTimestamp(start), trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(append(attrs, telemetry.AttrLimitKey.String(key))...))
	span.End(trace.WithTimestamp(end))
}

func rejectionType(err error) string {
	switch {
	case errors.Is(err, limiter.ErrQueueFull):
		return "queue_full"
	case errors.Is(err, limiter.ErrWouldExceedDeadline):
		return "deadline"
	case errors.Is(err, limiter.ErrExceedsCapacity):
		return "too_large"
	}
	return ""
}
