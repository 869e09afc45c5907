package provider

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/limiter"
)

func TestParseRateLimits(t *testing.T) {
	now := time.Date(2025, 10, 30, 16, 17, 0, 0, time.UTC)
	tests := []struct {
		name    string
		headers map[string]string
		want    limiter.Observation
		ok      bool
	}{
		{"anthropic recorded", map[string]string{
			"Anthropic-Ratelimit-Requests-Limit": "4000", "Anthropic-Ratelimit-Requests-Remaining": "3996", "Anthropic-Ratelimit-Requests-Reset": "2025-10-30T16:17:35Z",
			"Anthropic-Ratelimit-Tokens-Limit": "280000", "Anthropic-Ratelimit-Tokens-Remaining": "279000",
			"Anthropic-Ratelimit-Input-Tokens-Limit": "200000", "Anthropic-Ratelimit-Input-Tokens-Remaining": "199000", "Anthropic-Ratelimit-Input-Tokens-Reset": "2025-10-30T16:17:36Z",
			"Anthropic-Ratelimit-Output-Tokens-Limit": "80000", "Anthropic-Ratelimit-Output-Tokens-Remaining": "80000",
		}, limiter.Observation{
			limiter.Requests: {Limit: 4000, Remaining: 3996, HasRemaining: true, Reset: now.Add(35 * time.Second)},
			// tokens-* is the most restrictive limit in effect, not a bucket: dropped
			limiter.InputTokens:  {Limit: 200000, Remaining: 199000, HasRemaining: true, Reset: now.Add(36 * time.Second), Rounding: 1000},
			limiter.OutputTokens: {Limit: 80000, Remaining: 80000, HasRemaining: true, Rounding: 1000},
		}, true},
		{"anthropic tokens only", map[string]string{
			"Anthropic-Ratelimit-Tokens-Limit": "280000", "Anthropic-Ratelimit-Tokens-Remaining": "279000",
		}, limiter.Observation{
			limiter.Tokens: {Limit: 280000, Remaining: 279000, HasRemaining: true, Rounding: 1000},
		}, true},
		{"openai docs", map[string]string{
			"x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "59", "x-ratelimit-reset-requests": "1s",
			"x-ratelimit-limit-tokens": "150000", "x-ratelimit-remaining-tokens": "149984", "x-ratelimit-reset-tokens": "6m0s",
		}, limiter.Observation{
			limiter.Requests: {Limit: 60, Remaining: 59, HasRemaining: true, Reset: now.Add(time.Second)},
			limiter.Tokens:   {Limit: 150000, Remaining: 149984, HasRemaining: true, Reset: now.Add(6 * time.Minute)},
		}, true},
		{"garbage ignored", map[string]string{
			"x-ratelimit-limit-requests": "-1", "x-ratelimit-remaining-requests": "lots", "x-ratelimit-reset-requests": "soon",
			"x-ratelimit-limit-tokens": "99999999999999999999999",
		}, limiter.Observation{}, false},
		{"remaining zero is known", map[string]string{"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "12ms"},
			limiter.Observation{limiter.Tokens: {HasRemaining: true, Reset: now.Add(12 * time.Millisecond)}}, true},
		{"none", map[string]string{"content-type": "application/json"}, limiter.Observation{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tc.headers {
				h.Set(k, v)
			}
			got, ok := ParseRateLimits(h, now)
			if ok != tc.ok || got != tc.want {
				t.Fatalf("got %+v, %v\nwant %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func FuzzParseRateLimits(f *testing.F) {
	f.Add("4000", "3996", "2025-10-30T16:17:35Z", "60", "59", "6m0s")
	f.Add("-1", "x", "", "1e99", "", "1.5")
	f.Add(" 7 ", "0", "2025-13-40T99:00:00Z", "0", "-0", "-3s")
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, al, ar, areset, ol, or, oreset string) {
		h := http.Header{}
		h.Set("anthropic-ratelimit-requests-limit", al)
		h.Set("anthropic-ratelimit-requests-remaining", ar)
		h.Set("anthropic-ratelimit-requests-reset", areset)
		h.Set("x-ratelimit-limit-tokens", ol)
		h.Set("x-ratelimit-remaining-tokens", or)
		h.Set("x-ratelimit-reset-tokens", oreset)
		rl, ok := ParseRateLimits(h, now)
		for _, r := range rl {
			if r.Limit < 0 || r.Remaining < 0 || r.Limit >= maxCount || r.Remaining >= maxCount {
				t.Fatalf("out of range: %+v", r)
			}
			if !r.HasRemaining && r.Remaining != 0 {
				t.Fatalf("remaining without HasRemaining: %+v", r)
			}
		}
		if r := rl[limiter.Tokens].Reset; !r.IsZero() && (r.Before(now) || r.After(now.Add(1000*time.Hour))) {
			t.Fatalf("reset out of range: %v", r)
		}
		if ok != (known(rl[limiter.Requests]) || known(rl[limiter.Tokens])) {
			t.Fatalf("ok = %v for %+v", ok, rl)
		}
	})
}

// The fast paths of count and parseRFC3339 must agree with the parsers
// they short-cut, for every input.

func referenceCount(v string) (int64, bool) {
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 || n >= maxCount {
		return 0, false
	}
	return n, true
}

func referenceRFC3339(v string) time.Time {
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(v))
	if err != nil {
		return time.Time{}
	}
	return t
}

func TestFastParsersAgree(t *testing.T) {
	counts := []string{"", "0", "7", "-0", "+5", " 7 ", "0012", "999999999999999", "9007199254740991", "9007199254740992", "9999999999999999", "10000000000000000",
		"1e3", "1_000", "abc", "99999999999999999999999", "١٢"}
	for _, v := range counts {
		n, ok := count(v)
		wn, wok := referenceCount(v)
		if n != wn || ok != wok {
			t.Errorf("count(%q) = %d, %v; want %d, %v", v, n, ok, wn, wok)
		}
	}
	resets := []string{"", "2025-10-30T16:17:35Z", "2025-10-30t16:17:35z", "2025-02-29T00:00:00Z", "2024-02-29T00:00:00Z",
		"2025-04-31T00:00:00Z", "2025-13-01T00:00:00Z", "2025-00-01T00:00:00Z", "2025-01-00T00:00:00Z", "2025-01-01T24:00:00Z",
		"2025-01-01T23:60:00Z", "2025-01-01T23:59:60Z", "0000-01-01T00:00:00Z", "2025-10-30T16:17:35.5Z", "2025-10-30T16:17:35+02:00",
		" 2025-10-30T16:17:35Z ", "2025-1a-30T16:17:35Z", "+025-10-30T16:17:35Z"}
	for _, v := range resets {
		if got, want := parseRFC3339(v), referenceRFC3339(v); got != want {
			t.Errorf("parseRFC3339(%q) = %v; want %v", v, got, want)
		}
	}
}

func FuzzFastParsers(f *testing.F) {
	f.Add("123", "2025-10-30T16:17:35Z")
	f.Add(" 7", "2025-02-29T00:00:00Z")
	f.Fuzz(func(t *testing.T, c, r string) {
		n, ok := count(c)
		if wn, wok := referenceCount(c); n != wn || ok != wok {
			t.Fatalf("count(%q) = %d, %v; want %d, %v", c, n, ok, wn, wok)
		}
		if got, want := parseRFC3339(r), referenceRFC3339(r); got != want {
			t.Fatalf("parseRFC3339(%q) = %v; want %v", r, got, want)
		}
	})
}

func BenchmarkParseRateLimits(b *testing.B) {
	now := time.Now()
	reset := now.Add(time.Minute).UTC().Format(time.RFC3339)
	h := http.Header{}
	for _, k := range []string{"requests", "tokens", "input-tokens", "output-tokens"} {
		h.Set("anthropic-ratelimit-"+k+"-limit", "100000000")
		h.Set("anthropic-ratelimit-"+k+"-remaining", "99999999")
		h.Set("anthropic-ratelimit-"+k+"-reset", reset)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := ParseRateLimits(h, now); !ok {
			b.Fatal("no limits")
		}
	}
}
