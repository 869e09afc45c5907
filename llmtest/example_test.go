package llmtest_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/sluicehq/sluice/llmtest"
)

// A server with a quota of two requests per minute answers two calls and
// refuses the third with a 429 and retry-after: one request refills in 30s.
func ExampleNewServer() {
	srv := llmtest.NewServer(llmtest.Config{
		Window: time.Minute,
		Quota:  llmtest.Quota{Requests: 2},
	})
	defer srv.Close()

	body := `{"model":"claude-test","max_tokens":8,"messages":[{"role":"user","content":"Hello!"}]}`
	for range 3 {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/messages", strings.NewReader(body))
		req.Header.Set("x-api-key", "test")
		res, err := srv.Client().Do(req)
		if err != nil {
			panic(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		fmt.Printf("%d remaining=%s retry-after=%q\n", res.StatusCode,
			res.Header.Get("anthropic-ratelimit-requests-remaining"), res.Header.Get("retry-after"))
	}
	st := srv.Stats()
	fmt.Println("arrivals:", st.Arrivals, "rate limited:", st.RateLimited, "output tokens:", st.OutputTokens)
	// Output:
	// 200 remaining=1 retry-after=""
	// 200 remaining=0 retry-after=""
	// 429 remaining=0 retry-after="30"
	// arrivals: 3 rate limited: 1 output tokens: 16
}

// Inject scripts faults for the next requests: here one overloaded 529.
func ExampleServer_Inject() {
	srv := llmtest.NewServer(llmtest.Config{})
	defer srv.Close()
	srv.Inject(llmtest.Fault{Kind: llmtest.FaultStatus, Status: 529})

	body := `{"model":"gpt-test","messages":[{"role":"user","content":"Hi"}]}`
	for range 2 {
		res, err := srv.Client().Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			panic(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Println(res.StatusCode, strings.Contains(string(b), `"error"`))
	}
	// Output:
	// 529 true
	// 200 false
}

// CountTokens is the fake's tokenizer: a quarter of the bytes, rounded up.
func ExampleCountTokens() {
	fmt.Println(llmtest.CountTokens("Hello, world!"))
	// Output: 4
}
