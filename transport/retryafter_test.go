package transport

import (
	"math"
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestServerDelayGrammar(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	date := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	tests := []struct {
		name   string
		ms, ra string // "" = absent
		want   time.Duration
		source string
		wantOK bool
	}{
		{name: "absent"},
		{name: "seconds", ra: "2", want: 2 * time.Second, source: sourceRetryAfter, wantOK: true},
		{name: "zero seconds", ra: "0", want: 0, source: sourceRetryAfter, wantOK: true},
		{name: "seconds with spaces", ra: " 7 ", want: 7 * time.Second, source: sourceRetryAfter, wantOK: true},
		{name: "fractional seconds (SDKs accept)", ra: "1.5", want: 1500 * time.Millisecond, source: sourceRetryAfter, wantOK: true},
		{name: "http-date future", ra: date(90 * time.Second), want: 90 * time.Second, source: sourceRetryAfter, wantOK: true},
		{name: "http-date past", ra: date(-time.Hour), want: 0, source: sourceRetryAfter, wantOK: true},
		{name: "rfc850 date", ra: now.Add(30 * time.Second).Format("Monday, 02-Jan-06 15:04:05 GMT"), want: 30 * time.Second, source: sourceRetryAfter, wantOK: true},
		{name: "asctime date", ra: now.Add(10 * time.Second).Format(time.ANSIC), want: 10 * time.Second, source: sourceRetryAfter, wantOK: true},
		{name: "ms integer", ms: "1500", want: 1500 * time.Millisecond, source: sourceRetryAfterMs, wantOK: true},
		{name: "ms fractional", ms: "12.5", want: 12500 * time.Microsecond, source: sourceRetryAfterMs, wantOK: true},
		{name: "ms leading dot", ms: ".5", want: 500 * time.Microsecond, source: sourceRetryAfterMs, wantOK: true},
		{name: "ms long fraction truncated to ns", ms: "0.0000019", want: time.Nanosecond, source: sourceRetryAfterMs, wantOK: true},
		{name: "both present: ms wins", ms: "250", ra: "9", want: 250 * time.Millisecond, source: sourceRetryAfterMs, wantOK: true},
		{name: "garbage ms falls back to seconds", ms: "soon", ra: "3", want: 3 * time.Second, source: sourceRetryAfter, wantOK: true},
		{name: "garbage seconds", ra: "soon"},
		{name: "negative seconds", ra: "-1"},
		{name: "negative ms", ms: "-5"},
		{name: "plus sign", ra: "+5"},
		{name: "exponent", ms: "1e3"},
		{name: "hex float", ms: "0x1p4"},
		{name: "NaN", ms: "NaN"},
		{name: "Inf", ra: "Inf"},
		{name: "lone dot", ra: "."},
		{name: "trailing dot", ra: "3.", want: 3 * time.Second, source: sourceRetryAfter, wantOK: true},
		{name: "2^63 seconds overflows", ra: "9223372036854775808"},
		{name: "2^63 ms overflows", ms: "9223372036854775808"},
		{name: "largest seconds that fit", ra: strconv.FormatInt(math.MaxInt64/int64(time.Second), 10), want: time.Duration(math.MaxInt64/int64(time.Second)) * time.Second, source: sourceRetryAfter, wantOK: true},
		{name: "one second too many", ra: strconv.FormatInt(math.MaxInt64/int64(time.Second)+1, 10)},
		{name: "fraction pushes over", ra: strconv.FormatInt(math.MaxInt64/int64(time.Second), 10) + ".999999999"},
		{name: "far-future date saturates", ra: "Fri, 31 Dec 9999 23:59:59 GMT", want: time.Duration(math.MaxInt64), source: sourceRetryAfter, wantOK: true},
		{name: "empty values", ms: " ", ra: " "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.ms != "" {
				h.Set("Retry-After-Ms", tt.ms)
			}
			if tt.ra != "" {
				h.Set("Retry-After", tt.ra)
			}
			d, src, ok := serverDelay(h, now)
			if ok != tt.wantOK || d != tt.want || src != tt.source {
				t.Errorf("serverDelay(ms=%q, ra=%q) = (%v, %q, %v), want (%v, %q, %v)",
					tt.ms, tt.ra, d, src, ok, tt.want, tt.source, tt.wantOK)
			}
		})
	}
}

// FuzzServerDelay: no input panics, an accepted delay is never negative,
// and a numeric value that is accepted round-trips to what it says.
func FuzzServerDelay(f *testing.F) {
	for _, s := range []string{"2", "1.5", "-1", "9223372036854775808", "NaN", "1e3", ".", "Wed, 21 Oct 2015 07:28:00 GMT", "0.0000019", " 12 "} {
		f.Add(s, "")
		f.Add("", s)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, ms, ra string) {
		h := http.Header{}
		h.Set("Retry-After-Ms", ms)
		h.Set("Retry-After", ra)
		d, src, ok := serverDelay(h, now)
		if !ok {
			if d != 0 || src != "" {
				t.Fatalf("not ok but d=%v src=%q", d, src)
			}
			return
		}
		if d < 0 {
			t.Fatalf("negative delay %v for ms=%q ra=%q", d, ms, ra)
		}
		if src == sourceRetryAfterMs {
			// An integer value must be exact.
			if n, err := strconv.ParseInt(retryTrimSpace(ms), 10, 64); err == nil && d != time.Duration(n)*time.Millisecond {
				t.Fatalf("ms=%q gave %v", ms, d)
			}
		}
	})
}

func retryTrimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
