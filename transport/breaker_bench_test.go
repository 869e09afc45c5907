package transport

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// breakerFixedRT answers every request with 200 and an empty body, in memory.
type breakerFixedRT struct{}

func (breakerFixedRT) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Body: http.NoBody, Header: http.Header{}}, nil
}

func breakerBenchRoundTrips(b *testing.B, rt http.RoundTripper) {
	body := `{"model":"claude-x","max_tokens":1024,"messages":[{"role":"user","content":"` + strings.Repeat("x", 2000) + `"}]}`
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, "https://api.anthropic.com/v1/messages", strings.NewReader(body))
		resp, err := rt.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// BenchmarkBreaker is the cost per call of a closed breaker, keyed by host
// and model or by a BreakerSettings.Key function. With no meter above it to
// share the request's fields, either key reads them from a copy of the
// 2 KB body.
func BenchmarkBreaker(b *testing.B) {
	b.Run("bare", func(b *testing.B) { breakerBenchRoundTrips(b, breakerFixedRT{}) })
	b.Run("breaker", func(b *testing.B) { breakerBenchRoundTrips(b, Breaker(breakerFixedRT{}, BreakerSettings{})) })
	b.Run("breaker-host-key", func(b *testing.B) {
		breakerBenchRoundTrips(b, Breaker(breakerFixedRT{}, BreakerSettings{Key: func(r *http.Request, _ RequestFields) string { return r.URL.Host }}))
	})
}
