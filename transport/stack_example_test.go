package transport_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/sluicehq/sluice/limiter"
	"github.com/sluicehq/sluice/llmtest"
	"github.com/sluicehq/sluice/transport"
)

// New with each layer's settings: zero fields keep their defaults. The
// limiter is built here, with the window the fake API counts over, so it
// is closed here too.
func ExampleNew() {
	srv := llmtest.NewServer(llmtest.Config{Quota: llmtest.Quota{Requests: 50}, Window: time.Second})
	defer srv.Close()

	lim := limiter.New(limiter.WithWindow(time.Second))
	defer lim.Close()
	t := transport.New(nil,
		transport.WithLimit(transport.LimitSettings{Limiter: lim}),
		transport.WithRetry(transport.RetrySettings{MaxAttempts: 5}),
		transport.WithBreaker(transport.BreakerSettings{FailFast: true}),
		transport.WithMeter(transport.MeterSettings{
			OnUsage: func(_ context.Context, r transport.UsageReport) {
				fmt.Println(r.Provider, r.RequestModel, r.Usage.OutputTokens > 0, r.Err)
			},
		}),
	)
	defer t.Close()
	client := &http.Client{Transport: t}

	body := `{"model":"claude-sonnet-4-6","max_tokens":64,"messages":[{"role":"user","content":"Hello"}]}`
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/messages", strings.NewReader(body))
	req.Header.Set("x-api-key", "sk-example")
	resp, err := client.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body) // the usage is reported as the body ends
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output:
	// anthropic claude-sonnet-4-6 true <nil>
	// 200
}
