package transport

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestKeyFunctionsGetTheRequestFields checks that LimitSettings.Key and
// BreakerSettings.Key functions are handed the same fields, read from a copy of
// the request's body.
func TestKeyFunctionsGetTheRequestFields(t *testing.T) {
	body := `{"model":"claude-x","max_tokens":1024,"stream":true,"messages":[]}`
	want := RequestFields{Model: "claude-x", MaxTokens: 1024, Stream: true, Size: int64(len(body))}
	for _, tc := range []struct {
		name  string
		layer func(http.RoundTripper, func(*http.Request, RequestFields) string) http.RoundTripper
	}{
		{"limit", func(next http.RoundTripper, f func(*http.Request, RequestFields) string) http.RoundTripper {
			return Limit(next, LimitSettings{Key: f})
		}},
		{"breaker", func(next http.RoundTripper, f func(*http.Request, RequestFields) string) http.RoundTripper {
			return Breaker(next, BreakerSettings{Key: f})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got RequestFields
			rt := tc.layer(breakerFixedRT{}, func(_ *http.Request, f RequestFields) string {
				got = f
				return "k"
			})
			req, _ := http.NewRequest(http.MethodPost, "https://api.anthropic.com/v1/messages", strings.NewReader(body))
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if got != want {
				t.Errorf("key function got %+v, want %+v", got, want)
			}
		})
	}
}
