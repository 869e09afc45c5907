package transport

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// meterJSONRT answers with a small Anthropic JSON response, in memory.
type meterJSONRT struct{}

func (meterJSONRT) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"model":"claude-x","content":[],"usage":{"input_tokens":10,"output_tokens":7}}`))}, nil
}

// BenchmarkMeter is the cost per call of the meter (span, metrics, usage
// tap) with the no-op global telemetry, and of meter + breaker sharing the
// body fields.
func BenchmarkMeter(b *testing.B) {
	b.Run("bare", func(b *testing.B) { breakerBenchRoundTrips(b, meterJSONRT{}) })
	b.Run("meter", func(b *testing.B) { breakerBenchRoundTrips(b, Meter(meterJSONRT{}, MeterSettings{})) })
	b.Run("meter+breaker", func(b *testing.B) {
		breakerBenchRoundTrips(b, Meter(Breaker(meterJSONRT{}, BreakerSettings{}), MeterSettings{}))
	})
}
