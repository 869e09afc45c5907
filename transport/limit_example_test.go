package transport_test

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/sluicehq/sluice/limiter"
	"github.com/sluicehq/sluice/llmtest"
	"github.com/sluicehq/sluice/transport"
)

func ExampleLimit() {
	srv := llmtest.NewServer(llmtest.Config{Quota: llmtest.Quota{Requests: 50, InputTokens: 30000, OutputTokens: 8000}})
	defer srv.Close()

	// One limiter shared by every client that spends this quota; limits are
	// learned from the responses' anthropic-ratelimit-* headers.
	l := limiter.New(limiter.WithConcurrency(8))
	defer l.Close()
	client := &http.Client{Transport: transport.Limit(http.DefaultTransport, transport.LimitSettings{Limiter: l})}

	body := `{"model":"claude-sonnet-4-6","max_tokens":64,"messages":[{"role":"user","content":"Hello"}]}`
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/messages", strings.NewReader(body))
	req.Header.Set("x-api-key", "sk-example")
	resp, err := client.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close() // releases the concurrency slot
	for _, s := range l.Stats() {
		fmt.Println(resp.StatusCode, s.Limits[limiter.Requests], s.InFlight)
	}
	// Output: 200 50 0
}
