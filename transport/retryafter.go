package transport

import (
	"net/http"
	"strconv"
	"time"
)

// Delay sources, as reported in telemetry (sluice.wait.source).
const (
	sourceRetryAfterMs = "retry-after-ms"
	sourceRetryAfter   = "retry-after"
)

// serverDelay returns the delay the server asked for in h — retry-after-ms
// first, then Retry-After as delta-seconds or an HTTP-date — and which header
// said so. ok is false when neither header holds a usable value: garbage,
// negative and overflowing values are ignored, never trusted.
//
// Placeholder: the retry layer's issue hardens and fuzzes this parser.
func serverDelay(h http.Header, now time.Time) (d time.Duration, source string, ok bool) {
	if v := h.Get("retry-after-ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 && ms < 1e12 {
			return time.Duration(ms * float64(time.Millisecond)), sourceRetryAfterMs, true
		}
	}
	if v := h.Get("retry-after"); v != "" {
		if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 && s < 1e9 {
			return time.Duration(s) * time.Second, sourceRetryAfter, true
		}
		if t, err := http.ParseTime(v); err == nil {
			d := t.Sub(now)
			if d < 0 {
				d = 0
			}
			return d, sourceRetryAfter, true
		}
	}
	return 0, "", false
}
