package transport_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/sluicehq/sluice/transport"
)

// The meter reads usage from the response as the caller reads it and
// reports it once per call.
func ExampleMeter() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"model":"claude-x-1","content":[],"usage":{"input_tokens":12,"cache_read_input_tokens":30,"output_tokens":5}}`)
	}))
	defer api.Close()

	client := &http.Client{Transport: transport.Meter(api.Client().Transport,
		transport.MeterSettings{OnUsage: func(_ context.Context, r transport.UsageReport) {
			fmt.Printf("%s %s: %d in (%d cached), %d out\n", r.Provider, r.ResponseModel,
				r.Usage.TotalInputTokens, r.Usage.CacheReadInputTokens, r.Usage.OutputTokens)
		}})}
	resp, err := client.Post(api.URL+"/v1/messages", "application/json", strings.NewReader(`{"model":"claude-x","max_tokens":10}`))
	if err != nil {
		panic(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	// Output: anthropic claude-x-1: 42 in (30 cached), 5 out
}
