package transport

import (
	"context"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluicehq/sluice/telemetry"
)

// retryDelayBuckets cover backoff from 100 ms to the 2-minute server-delay
// cap, in seconds.
var retryDelayBuckets = []float64{0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128}

// retryTelemetry holds the retry layer's instruments, created once.
type retryTelemetry struct {
	attempts, retries, budget, cooldowns, giveUps metric.Int64Counter
	delay                                         metric.Float64Histogram
	// ok is the attribute option of the common attempt (200, done),
	// precomputed — as the slice Add takes, which would otherwise escape
	// into the interface call — so the no-retry path allocates nothing.
	ok []metric.AddOption
}

func newRetryTelemetry(p telemetry.Providers) retryTelemetry {
	m := p.Meter()
	var t retryTelemetry
	// Instrument creation fails only on invalid names (ours are constant
	// and valid); the returned no-op instrument is safe to use either way.
	t.attempts, _ = m.Int64Counter(telemetry.MetricRetryAttempts, metric.WithUnit("{attempt}"),
		metric.WithDescription("Physical HTTP attempts made by the retry layer."))
	t.retries, _ = m.Int64Counter(telemetry.MetricRetryRetries, metric.WithUnit("{retry}"),
		metric.WithDescription("Retries decided by the retry layer, by reason and status."))
	t.budget, _ = m.Int64Counter(telemetry.MetricRetryBudgetExhausted, metric.WithUnit("{retry}"),
		metric.WithDescription("Retries refused by the retry budget."))
	t.cooldowns, _ = m.Int64Counter(telemetry.MetricRetryCooldownWaits, metric.WithUnit("{wait}"),
		metric.WithDescription("Requests held back by the shared cool-down."))
	t.giveUps, _ = m.Int64Counter(telemetry.MetricRetryGiveUps, metric.WithUnit("{call}"),
		metric.WithDescription("Calls returned while their last attempt was still retryable."))
	t.delay, _ = m.Float64Histogram(telemetry.MetricRetryDelay, metric.WithUnit("s"),
		metric.WithDescription("Waits before a retry or a cooled-down request."),
		metric.WithExplicitBucketBoundaries(retryDelayBuckets...))
	t.ok = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(
		telemetry.AttrHTTPStatus.Int(http.StatusOK), telemetry.AttrRetryOutcome.String("done")))}
	return t
}

// attempt counts one attempt.
func (t *retryTelemetry) attempt(ctx context.Context, resp *http.Response, err error, outcome string) {
	if resp != nil && resp.StatusCode == http.StatusOK && outcome == "done" {
		t.attempts.Add(ctx, 1, t.ok...)
		return
	}
	attrs := []attribute.KeyValue{telemetry.AttrRetryOutcome.String(outcome)}
	if resp != nil {
		attrs = append(attrs, telemetry.AttrHTTPStatus.Int(resp.StatusCode))
	} else if err != nil {
		attrs = append(attrs, telemetry.AttrErrorType.String(errorType(err)))
	}
	t.attempts.Add(ctx, 1, metric.WithAttributes(attrs...))
}

// wait records a wait of d before attempt n, on the metrics and as an
// event on the caller's span.
func (t *retryTelemetry) wait(ctx context.Context, d time.Duration, source, reason string, status, n int) {
	t.delay.Record(ctx, d.Seconds(), metric.WithAttributes(telemetry.AttrRetryWaitSource.String(source)))
	if reason != "" {
		t.retries.Add(ctx, 1, metric.WithAttributes(
			telemetry.AttrRetryReason.String(reason), telemetry.AttrHTTPStatus.Int(status)))
	}
	if source == sourceCooldown {
		t.cooldowns.Add(ctx, 1)
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		attrs := []attribute.KeyValue{
			telemetry.AttrRetryWaitDelay.Float64(d.Seconds()),
			telemetry.AttrRetryWaitSource.String(source),
			telemetry.AttrRetryAttempt.Int(n),
		}
		if reason != "" {
			attrs = append(attrs, telemetry.AttrRetryReason.String(reason), telemetry.AttrHTTPStatus.Int(status))
		}
		span.AddEvent(telemetry.EventRetryWait, trace.WithAttributes(attrs...))
	}
}

// giveUp records that the layer stopped retrying a retryable attempt n.
func (t *retryTelemetry) giveUp(ctx context.Context, why, reason string, n int) {
	t.giveUps.Add(ctx, 1, metric.WithAttributes(telemetry.AttrRetryGiveUp.String(why)))
	if why == giveUpBudget {
		t.budget.Add(ctx, 1, metric.WithAttributes(telemetry.AttrRetryReason.String(reason)))
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent(telemetry.EventRetryGiveUp, trace.WithAttributes(
			telemetry.AttrRetryGiveUp.String(why),
			telemetry.AttrRetryAttempt.Int(n),
			telemetry.AttrRetryReason.String(reason)))
	}
}
