package transport

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestKeyFunctionsGetTheRequestFields checks that a WithLimitKey function
// is handed the fields of the request's body, read from a copy of it.
func TestKeyFunctionsGetTheRequestFields(t *testing.T) {
	body := `{"model":"claude-x","max_tokens":1024,"stream":true,"messages":[]}`
	want := RequestFields{Model: "claude-x", MaxTokens: 1024, Stream: true, Size: int64(len(body))}
	var got RequestFields
	rt := Limit(breakerFixedRT{}, WithLimitKey(func(_ *http.Request, f RequestFields) string {
		got = f
		return "k"
	}))
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
}
