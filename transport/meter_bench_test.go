package transport

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// jsonRT answers with a small Anthropic JSON response, in memory.
type jsonRT struct{}

func (jsonRT) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"model":"claude-x","content":[],"usage":{"input_tokens":10,"output_tokens":7}}`))}, nil
}

// BenchmarkMeter is the cost per call of the meter (span, metrics, usage
// tap) with the no-op global telemetry, and of meter + breaker sharing the
// body fields.
func BenchmarkMeter(b *testing.B) {
	b.Run("bare", func(b *testing.B) { benchRoundTrips(b, jsonRT{}) })
	b.Run("meter", func(b *testing.B) { benchRoundTrips(b, Meter(jsonRT{})) })
	b.Run("meter+breaker", func(b *testing.B) { benchRoundTrips(b, Meter(Breaker(jsonRT{}))) })
}
