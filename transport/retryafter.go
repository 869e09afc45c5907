package transport

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Delay sources, as reported in telemetry (sluice.wait.source).
const (
	sourceRetryAfterMs = "retry-after-ms"
	sourceRetryAfter   = "retry-after"
	sourceBackoff      = "backoff"
	sourceCooldown     = "cooldown"
	sourceBudget       = "budget" // a retry held until the retry budget had room
)

// serverDelay returns the delay the server asked for in h — retry-after-ms
// first, then Retry-After as delta-seconds or an HTTP-date — and which header
// said so. ok is false when neither header holds a usable value: garbage,
// negative and overflowing values are ignored, never trusted, and the next
// header is consulted.
//
// The grammar is the union of what the providers send and what their SDKs
// accept, so sluice never waits less than the SDK would have:
//
//	retry-after-ms: decimal milliseconds, fraction allowed ("1500", "12.5")
//	Retry-After:    decimal seconds ("2", and "1.5" as the SDKs accept),
//	                or an HTTP-date (RFC 9110: IMF-fixdate, RFC 850, asctime);
//	                a date in the past means "now" (delay 0)
//
// Signs, exponents, hex, "NaN"/"Inf" and values that overflow a
// time.Duration are rejected. Surrounding spaces are allowed.
func serverDelay(h http.Header, now time.Time) (d time.Duration, source string, ok bool) {
	if v := strings.TrimSpace(h.Get("retry-after-ms")); v != "" {
		if d, ok := parseDecimal(v, time.Millisecond); ok {
			return d, sourceRetryAfterMs, true
		}
	}
	v := strings.TrimSpace(h.Get("retry-after"))
	if v == "" {
		return 0, "", false
	}
	if d, ok := parseDecimal(v, time.Second); ok {
		return d, sourceRetryAfter, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, "", false
	}
	d = t.Sub(now) // saturates at the Duration bounds, never wraps
	if d < 0 {
		d = 0
	}
	return d, sourceRetryAfter, true
}

// parseDecimal parses DIGITS[.DIGITS] (or .DIGITS) as a count of unit. It is
// written by hand rather than with strconv.ParseFloat because ParseFloat
// accepts "NaN", "Inf", exponents and hex floats, and loses precision on
// large values; every one of those must be rejected here.
func parseDecimal(s string, unit time.Duration) (time.Duration, bool) {
	intPart, frac, hasDot := strings.Cut(s, ".")
	if (intPart == "" && frac == "") || !allDigits(intPart) || !allDigits(frac) || (hasDot && frac == "" && intPart == "") {
		return 0, false
	}
	var whole uint64
	if intPart != "" {
		n, err := strconv.ParseUint(intPart, 10, 64)
		if err != nil || n > uint64(math.MaxInt64/int64(unit)) {
			return 0, false
		}
		whole = n
	}
	d := time.Duration(whole) * unit
	// The fraction matters only down to the nanosecond: 9 digits of a second.
	if len(frac) > 9 {
		frac = frac[:9]
	}
	if frac != "" {
		f, _ := strconv.ParseUint(frac, 10, 64) // ≤ 9 digits: cannot fail
		scale := uint64(1)
		for range len(frac) {
			scale *= 10
		}
		extra := time.Duration(f * uint64(unit) / scale) // unit ≤ 1s, f < 1e9: no overflow
		if d > math.MaxInt64-extra {
			return 0, false
		}
		d += extra
	}
	return d, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
