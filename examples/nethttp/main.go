// Command nethttp shows sluice under a plain net/http client: any code that
// takes an *http.Client gets limits, retries, a breaker and metering.
package main

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"

	"github.com/sluicehq/sluice/llmtest"
	"github.com/sluicehq/sluice/transport"
)

func main() {
	srv := llmtest.NewServer(llmtest.Config{})
	defer srv.Close()

	client := &http.Client{Transport: transport.New(nil)}
	body := `{"model":"claude-sonnet-4-5","max_tokens":32,"messages":[{"role":"user","content":"Say hello."}]}`
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/messages", strings.NewReader(body))
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("x-api-key", "llmtest")
	req.Header.Set("anthropic-version", "2023-06-01")
	req.Header.Set("content-type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close() // closing the body releases the concurrency slot
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Status, len(b), "bytes")
}
