package transport

import "net/http"

// defaultBreakerKey is the host and the model of req ("api.anthropic.com
// claude-sonnet-4-5"), or the host alone when the body names no model.
func defaultBreakerKey(req *http.Request) string {
	if m := requestFields(req).Model; m != "" {
		return req.URL.Host + " " + m
	}
	return req.URL.Host
}
