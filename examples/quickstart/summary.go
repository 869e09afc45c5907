package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/sluicehq/sluice/telemetry"
)

// summary is what sluice's own metrics say about a run.
type summary struct {
	waits        map[string]int64   // limiter waits by reason
	waitSecs     map[string]float64 // their total duration
	retries      map[string]int64   // retries by reason
	retryWaits   map[string]int64   // retry waits by source
	breakerOpens int64
	tokens       map[string]int64 // gen_ai.client.token.usage sums by type
}

// collect reads sluice's metrics from the in-process reader.
func collect(ctx context.Context, r *metric.ManualReader) *summary {
	s := &summary{waits: map[string]int64{}, waitSecs: map[string]float64{},
		retries: map[string]int64{}, retryWaits: map[string]int64{}, tokens: map[string]int64{}}
	var rm metricdata.ResourceMetrics
	if err := r.Collect(ctx, &rm); err != nil {
		return s
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			s.add(m)
		}
	}
	return s
}

func (s *summary) add(m metricdata.Metrics) {
	switch m.Name {
	case telemetry.MetricLimiterWaitDuration:
		if h, ok := m.Data.(metricdata.Histogram[float64]); ok {
			for _, dp := range h.DataPoints {
				reason := attr(dp.Attributes, telemetry.AttrLimiterReason)
				s.waits[reason] += int64(dp.Count)
				s.waitSecs[reason] += dp.Sum
			}
		}
	case telemetry.MetricRetryRetries:
		if c, ok := m.Data.(metricdata.Sum[int64]); ok {
			for _, dp := range c.DataPoints {
				s.retries[attr(dp.Attributes, telemetry.AttrRetryReason)] += dp.Value
			}
		}
	case telemetry.MetricRetryDelay:
		if h, ok := m.Data.(metricdata.Histogram[float64]); ok {
			for _, dp := range h.DataPoints {
				s.retryWaits[attr(dp.Attributes, telemetry.AttrRetryWaitSource)] += int64(dp.Count)
			}
		}
	case telemetry.MetricBreakerTransitions:
		if c, ok := m.Data.(metricdata.Sum[int64]); ok {
			for _, dp := range c.DataPoints {
				if attr(dp.Attributes, telemetry.AttrBreakerTo) == "open" {
					s.breakerOpens += dp.Value
				}
			}
		}
	case telemetry.MetricGenAITokenUsage:
		if h, ok := m.Data.(metricdata.Histogram[int64]); ok {
			for _, dp := range h.DataPoints {
				s.tokens[attr(dp.Attributes, telemetry.AttrTokenType)] += dp.Sum
			}
		}
	}
}

func attr(set attribute.Set, k attribute.Key) string {
	v, ok := set.Value(k)
	if !ok {
		return "?"
	}
	return v.String()
}

// printSummary prints the comparison table; base may be nil.
func printSummary(f flags, base, res *result) {
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	col := func(r *result, fn func(*result) string) string {
		if r == nil {
			return "-"
		}
		return fn(r)
	}
	row := func(name string, fn func(*result) string) {
		fmt.Fprintf(w, "%s\t%s\t%s\t\n", name, col(base, fn), col(res, fn))
	}
	srvRow := func(name string, fn func(*result) string) {
		row(name, func(r *result) string {
			if !r.hasServer {
				return "-"
			}
			return fn(r)
		})
	}
	fmt.Fprintf(w, "\tSDK alone\tSDK + sluice\t\n")
	row("calls", func(r *result) string { return fmt.Sprint(r.ok + r.failed) })
	row("succeeded", func(r *result) string { return fmt.Sprint(r.ok) })
	row("failed", func(r *result) string { return fmt.Sprint(r.failed) })
	row("wall time", func(r *result) string { return r.wall.Round(10 * time.Millisecond).String() })
	srvRow("requests the API received", func(r *result) string { return fmt.Sprint(r.server.Arrivals) })
	srvRow("429s the API served", func(r *result) string { return fmt.Sprint(r.server.RateLimited) })
	srvRow("529s the API served", func(r *result) string { return fmt.Sprint(r.server.ByStatus[529]) })
	srvRow("herd arrivals (before retry-after)", func(r *result) string { return fmt.Sprint(r.server.HerdArrivals) })
	row("tokens in / out (responses)", func(r *result) string { return fmt.Sprintf("%d / %d", r.inTokens, r.outToks) })
	w.Flush()

	if m := res.metrics; m != nil {
		fmt.Println()
		fmt.Println("what sluice did (from its own OpenTelemetry metrics):")
		fmt.Printf("  waits before sending, by reason: %s\n", waitList(m))
		fmt.Printf("  retries, by reason:              %s\n", countList(m.retries))
		fmt.Printf("  retry waits, by delay source:    %s\n", countList(m.retryWaits))
		fmt.Printf("  breaker trips:                   %d\n", m.breakerOpens)
		fmt.Printf("  tokens metered in / out:         %d / %d\n", m.tokens[telemetry.TokenTypeInput], m.tokens[telemetry.TokenTypeOutput])
	}
	if base != nil && base.firstErr != "" {
		fmt.Printf("\nfirst error the SDK alone returned: %s\n", base.firstErr)
	}
	if res.firstErr != "" {
		fmt.Printf("first error with sluice: %s\n", res.firstErr)
	}
}

func countList(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func waitList(m *summary) string {
	if len(m.waits) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m.waits))
	for k := range m.waits {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d (%.1fs)", k, m.waits[k], m.waitSecs[k])
	}
	return strings.Join(parts, ", ")
}
