package sdktest

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"

	"github.com/sluicehq/sluice/llmtest"
	"github.com/sluicehq/sluice/transport"
)

// TestHardQuotaThroughSDKs: a 429 that waiting cannot fix — a spend limit,
// insufficient_quota, or x-should-retry: false — each with retry-after: 5,
// through transport.New(nil) and both SDKs as documented: one attempt per
// call, no cool-down (every later call gets the same answer in well under a
// second, not after 5 s), the SDK's own 429 error, and
// transport.IsHardQuota(err.Response) recognises it.
func TestHardQuotaThroughSDKs(t *testing.T) {
	cases := []struct {
		name string
		sdk  string
		f    llmtest.Fault
	}{
		{"anthropic spend limit", "anthropic", llmtest.Fault{ErrorCode: "enforced_spend_limit_reached"}},
		{"anthropic x-should-retry false", "anthropic", llmtest.Fault{ShouldRetry: "false"}},
		{"openai insufficient_quota", "openai", llmtest.Fault{ErrorType: "insufficient_quota", ErrorCode: "insufficient_quota"}},
		{"openai x-should-retry false", "openai", llmtest.Fault{ShouldRetry: "false"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := llmtest.NewServer(llmtest.Config{})
			defer srv.Close()
			tr := transport.New(nil, transport.WithLogger(slog.New(slog.DiscardHandler)))
			defer tr.Close()
			hc := &http.Client{Transport: tr}
			a := anthropic.NewClient(aoption.WithBaseURL(srv.URL), aoption.WithAPIKey("sk-ant-test"),
				aoption.WithHTTPClient(hc), aoption.WithMaxRetries(0), aoption.WithoutOpenTelemetry())
			o := openai.NewClient(ooption.WithBaseURL(srv.URL+"/v1/"), ooption.WithAPIKey("sk-test"),
				ooption.WithHTTPClient(hc), ooption.WithMaxRetries(0))
			f := tc.f
			f.Kind, f.Status, f.RetryAfter, f.Count = llmtest.FaultStatus, 429, "5", 100
			srv.Inject(f)

			const calls = 5
			start := time.Now()
			for i := range calls {
				t0 := time.Now()
				var (
					err    error
					status int
					resp   *http.Response
				)
				if tc.sdk == "anthropic" {
					_, err = a.Messages.New(context.Background(), meterAnthropicParams(8, "hello"))
					var ae *anthropic.Error
					if errors.As(err, &ae) {
						status, resp = ae.StatusCode, ae.Response
					}
				} else {
					_, err = o.Chat.Completions.New(context.Background(), meterChatParams(8, "hello"))
					var oe *openai.Error
					if errors.As(err, &oe) {
						status, resp = oe.StatusCode, oe.Response
					}
				}
				d := time.Since(t0)
				if status != 429 {
					t.Fatalf("call %d: %v, want the SDK's own 429 error", i, err)
				}
				if !transport.IsHardQuota(resp) {
					t.Fatalf("call %d: transport.IsHardQuota(err.Response) = false; headers %v", i, resp.Header)
				}
				if d > time.Second {
					t.Fatalf("call %d took %v: a cool-down held it back", i, d)
				}
				if n := srv.Stats().Arrivals; n != int64(i+1) {
					t.Fatalf("after call %d: %d arrivals, want one attempt per call", i, n)
				}
			}
			t.Logf("%d calls in %v", calls, time.Since(start).Round(time.Millisecond))
		})
	}
}

// An ordinary 429 sluice gave up on is not a hard quota.
func TestOrdinary429IsNotHardQuota(t *testing.T) {
	s := retryServer(t)
	s.Inject(llmtest.Fault{Kind: llmtest.FaultStatus, Status: 429, RetryAfterMs: "1", ShouldRetry: "true", Count: 100})
	_, err := retryAnthropicCall(context.Background(), retryAnthropic(s, retryHTTPClient(t, retryFast)))
	var ae *anthropic.Error
	if !errors.As(err, &ae) || ae.StatusCode != 429 {
		t.Fatalf("err = %v, want a 429", err)
	}
	if transport.IsHardQuota(ae.Response) {
		t.Fatal("IsHardQuota of an ordinary rate limit given up on: true")
	}
}
