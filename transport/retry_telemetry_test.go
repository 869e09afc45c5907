package transport

import (
	"context"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sluicehq/sluice/telemetry"
)

// sumOf returns the total of an Int64 sum, or the count of a histogram,
// named name, over points whose attributes include want.
func retrySumOf(t *testing.T, rm metricdata.ResourceMetrics, name string, want ...attribute.KeyValue) int64 {
	t.Helper()
	var total int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			match := func(set attribute.Set) bool {
				for _, kv := range want {
					if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
						return false
					}
				}
				return true
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes) {
						total += p.Value
					}
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes) {
						total += int64(p.Count)
					}
				}
			}
		}
	}
	return total
}

func TestRetryTelemetry(t *testing.T) {
	synctest.Test(t, testRetryTelemetry)
}

func testRetryTelemetry(t *testing.T) {
	srv := newRetryPipeServer(t,
		retryReply{status: 503, headers: map[string]string{"retry-after-ms": "5"}},
		retryReply{status: 503},
		retryOK)
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	tel := WithTelemetry(telemetry.WithTracerProvider(tp), telemetry.WithMeterProvider(mp))

	c := &http.Client{Transport: Retry(Attempt(srv.pipe.Transport(t), tel), RetrySettings{InitialBackoff: 1e6, MaxBackoff: 2e6}, tel)}
	ctx, parent := tp.Tracer("test").Start(context.Background(), "chat claude-test")
	resp, err := retryPost(t, c, ctx, srv.URL, retryJSON)
	if err != nil {
		t.Fatal(err)
	}
	retryReadAll(t, resp)
	parent.End()

	var attempts []sdktrace.ReadOnlySpan
	var call sdktrace.ReadOnlySpan
	for _, s := range sr.Ended() {
		switch s.Name() {
		case "POST":
			attempts = append(attempts, s)
		case "chat claude-test":
			call = s
		}
	}
	if len(attempts) != 3 || call == nil {
		t.Fatalf("%d ended attempt spans (want 3, all ended), call span %v", len(attempts), call != nil)
	}
	resends := map[int64]bool{}
	for _, s := range attempts {
		if s.Parent().SpanID() != call.SpanContext().SpanID() {
			t.Fatal("attempt span is not a child of the caller's span")
		}
		for _, kv := range s.Attributes() {
			if kv.Key == "http.request.resend_count" {
				resends[kv.Value.AsInt64()] = true
			}
		}
	}
	if len(resends) != 2 || !resends[1] || !resends[2] {
		t.Fatalf("resend_count values %v, want {1, 2}", resends)
	}
	var sources []string
	for _, e := range call.Events() {
		if e.Name != telemetry.EventRetryWait {
			continue
		}
		for _, kv := range e.Attributes {
			if kv.Key == telemetry.AttrRetryWaitSource {
				sources = append(sources, kv.Value.AsString())
			}
		}
	}
	if len(sources) != 2 || sources[0] != "retry-after-ms" || sources[1] != "backoff" {
		t.Fatalf("wait events' sources %v, want [retry-after-ms backoff]", sources)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	if n := retrySumOf(t, rm, telemetry.MetricRetryAttempts); n != 3 {
		t.Errorf("attempts = %d, want 3", n)
	}
	if n := retrySumOf(t, rm, telemetry.MetricRetryRetries, telemetry.AttrRetryReason.String("server_error"), telemetry.AttrHTTPStatus.Int(503)); n != 2 {
		t.Errorf("retries{server_error,503} = %d, want 2", n)
	}
	if n := retrySumOf(t, rm, telemetry.MetricRetryDelay); n != 2 {
		t.Errorf("delay histogram count = %d, want 2", n)
	}
	if n := retrySumOf(t, rm, "http.client.request.duration"); n != 3 {
		t.Errorf("otelhttp recorded %d attempts, want 3", n)
	}
}

// A 429 whose retry the budget refuses still starts the cool-down, which
// then holds the next call for the announced 300 ms (plus at most 20 %
// jitter); both are counted.
func TestRetryTelemetryBudgetAndCooldownCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newRetryPipeServer(t, retryRateLimited("300"), retryOK)
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		c, _ := srv.client(t, zeroBudget, WithTelemetry(telemetry.WithMeterProvider(mp)))
		resp, err := retryPost(t, c, context.Background(), srv.URL, retryJSON) // 429, budget refuses the retry
		if err != nil {
			t.Fatal(err)
		}
		retryReadAll(t, resp)
		start := time.Now()
		resp, err = retryPost(t, c, context.Background(), srv.URL, retryJSON) // held by the cool-down, then 200
		if err != nil {
			t.Fatal(err)
		}
		retryReadAll(t, resp)
		if d := time.Since(start); resp.StatusCode != 200 || d < 300*time.Millisecond || d > 360*time.Millisecond {
			t.Errorf("second call: %d after %v, want 200 after 300ms to 360ms", resp.StatusCode, d)
		}
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		if n := retrySumOf(t, rm, telemetry.MetricRetryBudgetExhausted); n != 1 {
			t.Errorf("budget exhaustions = %d, want 1", n)
		}
		if n := retrySumOf(t, rm, telemetry.MetricRetryCooldownWaits); n != 1 {
			t.Errorf("cool-down waits = %d, want 1", n)
		}
		if n := retrySumOf(t, rm, telemetry.MetricRetryDelay, telemetry.AttrRetryWaitSource.String("cooldown")); n != 1 {
			t.Errorf("cool-down delays = %d, want 1", n)
		}
	})
}
