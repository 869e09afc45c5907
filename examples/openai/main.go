// Command openai is the minimal wiring of sluice into openai-go v3.
//
// It talks to an in-process llmtest fake API unless OPENAI_API_KEY is set, in
// which case it calls the real API.
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/sluicehq/sluice/llmtest"
	"github.com/sluicehq/sluice/transport"
)

func main() {
	opts := []option.RequestOption{
		option.WithHTTPClient(&http.Client{Transport: transport.New(nil)}),
		option.WithMaxRetries(0), // sluice retries; the SDK must not retry again
	}
	if os.Getenv("OPENAI_API_KEY") == "" {
		srv := llmtest.NewServer(llmtest.Config{})
		defer srv.Close()
		opts = append(opts, option.WithBaseURL(srv.URL+"/v1/"), option.WithAPIKey("llmtest"))
	}
	client := openai.NewClient(opts...)
	resp, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello.")},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("model %s: %d prompt tokens, %d completion tokens\n", resp.Model, resp.Usage.PromptTokens, resp.Usage.CompletionTokens)
}
