package proxy

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/cmd/sluice/internal/nodesdk"
	"github.com/sluicehq/sluice/llmtest"
)

// burstConfig is the fake provider of the bursts: a quota far below
// demand (30 requests per compressed one-second "minute") and a seeded mix
// of 529s and 500s.
func burstConfig() llmtest.Config {
	return llmtest.Config{
		Window: time.Second,
		Quota:  llmtest.Quota{Requests: 30, InputTokens: 20000, OutputTokens: 2400, Tokens: 22000},
		Seed:   11,
		Faults: []llmtest.Fault{
			{Kind: llmtest.FaultStatus, Status: 529, Probability: 0.03},
			{Kind: llmtest.FaultStatus, Status: 500, Probability: 0.02},
		},
	}
}

// The official TypeScript SDKs, changed only by their base URL and with
// their default retries, send a burst through the proxy — JSON and
// streaming — under the quota and the faults: no call fails and at most
// 1 % of what reaches the provider is a 429.
func TestTypeScriptSDKBurst(t *testing.T) {
	for _, sdk := range []string{"anthropic", "openai"} {
		t.Run(sdk, func(t *testing.T) {
			srv := llmtest.NewServer(burstConfig())
			defer srv.Close()
			p := startProxy(t, testConfig(srv.URL))
			r := runNode(t, p.URL, "burst", sdk, "CALLS=150", "WORKERS=25")
			st := srv.Stats()
			t.Logf("ok %d, failed %d; upstream: arrivals %d, 429s %d, 529s %d, 500s %d, completed %d",
				r.OK, r.Failed, st.Arrivals, st.RateLimited, st.ByStatus[529], st.ByStatus[500], st.Completed)
			if r.Failed != 0 || r.OK != 150 {
				t.Errorf("%d ok, %d failed: %+v", r.OK, r.Failed, r.Errors)
			}
			if st.RateLimited*100 > st.Arrivals {
				t.Errorf("%d 429s served of %d arrivals, want at most 1 %%", st.RateLimited, st.Arrivals)
			}
		})
	}
}

// What each TypeScript SDK raises for the calls that must fail: the
// provider's final answer as the SDK's class for its status, not retried
// again by the SDK (x-should-retry: false); a rate-limit wait longer than
// the client's timeout as RateLimitError at once; an open breaker with
// --fail-fast as the SDK's 503 class.
func TestTypeScriptSDKErrors(t *testing.T) {
	for _, tc := range []struct {
		sdk                               string
		final529, refused429, breakerOpen string // classes
	}{
		{"anthropic", "OverloadedError", "RateLimitError", "ServiceUnavailableError"},
		{"openai", "InternalServerError", "RateLimitError", "InternalServerError"},
	} {
		t.Run(tc.sdk, func(t *testing.T) {
			srv := llmtest.NewServer(llmtest.Config{Window: time.Minute, Quota: llmtest.Quota{Requests: 1, Tokens: 100000}})
			defer srv.Close()
			c := testConfig(srv.URL)
			c.Window, c.MaxAttempts = time.Minute, 2
			p := startProxy(t, c)

			// The final 529 after sluice's two attempts, with the SDK's
			// default two retries: two arrivals, not six.
			srv.Inject(llmtest.Fault{Kind: llmtest.FaultStatus, Status: 529, Count: 2})
			e := oneError(t, runNode(t, p.URL, "call", tc.sdk))
			if e.Class != tc.final529 || e.Status != 529 || !e.APIError || e.ShouldRetry != "false" || e.Refusal != "" {
				t.Errorf("final 529: %+v", e)
			}
			if got := srv.Stats().Arrivals; got != 2 {
				t.Errorf("final 529: %d arrivals, want sluice's 2 attempts only", got)
			}

			// One request per minute: the second call would wait ~a minute,
			// longer than its 5 s timeout. (openai 7.55 does not send its
			// timeout in x-stainless-timeout; the script adds the header.)
			if r := runNode(t, p.URL, "call", tc.sdk, "TIMEOUT_MS=5000", "STAINLESS_TIMEOUT=5"); r.OK != 1 {
				t.Fatalf("first call: %+v", r)
			}
			// Held until the client's timeout, the call would end in the
			// SDK's APIConnectionTimeoutError instead.
			e = oneError(t, runNode(t, p.URL, "call", tc.sdk, "TIMEOUT_MS=5000", "STAINLESS_TIMEOUT=5"))
			if e.Class != tc.refused429 || e.Status != 429 || e.Refusal != "deadline" || e.ShouldRetry != "false" {
				t.Errorf("refused: %+v", e)
			}
			if got := srv.Stats().Arrivals; got != 3 {
				t.Errorf("%d arrivals, want 3: a refusal never reaches the provider", got)
			}
		})
	}
	for _, tc := range []struct{ sdk, class string }{{"anthropic", "ServiceUnavailableError"}, {"openai", "InternalServerError"}} {
		t.Run(tc.sdk+"/breaker", func(t *testing.T) {
			srv := llmtest.NewServer(llmtest.Config{})
			defer srv.Close()
			c := testConfig(srv.URL)
			c.MaxAttempts, c.FailFast = 1, true
			p := startProxy(t, c)
			// The breaker opens on 10 failed attempts in a row; the upstream
			// keeps failing, so a probe after the break fails and reopens
			// it, and the last of 13 calls in a row meets it open.
			srv.Inject(llmtest.Fault{Kind: llmtest.FaultStatus, Status: 500, Count: 30})
			r := runNode(t, p.URL, "burst", tc.sdk, "CALLS=13", "WORKERS=1", "MAX_RETRIES=0", "MODEL=node-model")
			if r.Failed != 13 || r.Last == nil || r.Errors[0].Status != 500 {
				t.Fatalf("want 13 failed calls, the first a 500: %+v", r)
			}
			if e := *r.Last; e.Class != tc.class || e.Status != 503 || e.Refusal != "breaker_open" || e.ShouldRetry != "true" {
				t.Errorf("breaker open: %+v", e)
			}
		})
	}
}

func oneError(t *testing.T, r nodesdk.Result) nodesdk.Error {
	t.Helper()
	if r.Failed != 1 || len(r.Errors) != 1 {
		t.Fatalf("want one failed call: %+v", r)
	}
	return r.Errors[0]
}
