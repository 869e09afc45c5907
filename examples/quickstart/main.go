// Command quickstart is a temporary demo of llmtest, the embedded fake
// Anthropic API: a burst of 100 concurrent calls from naive clients against a
// tight quota, and what the server saw. No API key, no network.
//
// Each client retries a 429 after a fixed 100ms, ignoring retry-after, the
// way many hand-rolled retry loops do; the "herd arrivals" line counts the
// attempts that came back before the server said they could.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/llmtest"
)

const (
	callers  = 100
	attempts = 4 // one call and three naive retries
)

func main() {
	srv := llmtest.NewServer(llmtest.Config{
		Window:  2 * time.Second, // a "minute" compressed to two seconds
		Quota:   llmtest.Quota{Requests: 30, InputTokens: 20000, OutputTokens: 4000},
		Latency: 20 * time.Millisecond,
	})
	defer srv.Close()

	fmt.Printf("llmtest fake Anthropic API at %s\n", srv.URL)
	fmt.Printf("quota per %v: 30 requests, 20000 input tokens, 4000 output tokens\n", 2*time.Second)
	fmt.Printf("firing %d concurrent calls, each retried up to %d times after a fixed 100ms\n\n", callers, attempts-1)

	start := time.Now()
	var (
		wg sync.WaitGroup
		mu sync.Mutex
		ok int
	)
	for i := range callers {
		wg.Go(func() {
			if call(srv, i) {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	st := srv.Stats()
	fmt.Printf("calls succeeded:   %d of %d in %v\n", ok, callers, elapsed.Round(time.Millisecond))
	fmt.Printf("arrivals:          %d (attempts the API saw)\n", st.Arrivals)
	fmt.Printf("200 OK:            %d\n", st.ByStatus[http.StatusOK])
	fmt.Printf("429s served:       %d\n", st.RateLimited)
	fmt.Printf("herd arrivals:     %d (came back before their retry-after)\n", st.HerdArrivals)
	fmt.Printf("peak concurrency:  %d\n", st.PeakConcurrency)
	fmt.Printf("tokens:            %d in, %d out\n", st.InputTokens, st.OutputTokens)
	if st.Arrivals == 0 {
		os.Exit(1)
	}
}

// call makes one logical call with naive retries and reports success.
func call(srv *llmtest.Server, i int) bool {
	body := fmt.Sprintf(`{"model":"claude-demo","max_tokens":32,"messages":[{"role":"user","content":"Summarise document %d, please."}]}`, i)
	for range attempts {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/messages", strings.NewReader(body))
		if err != nil {
			return false
		}
		req.Header.Set("x-api-key", "demo-key")
		req.Header.Set("anthropic-version", "2023-06-01")
		res, err := srv.Client().Do(req)
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			return true
		}
		time.Sleep(100 * time.Millisecond) // the naive part: retry-after ignored
	}
	return false
}
