// Command anthropic is the minimal wiring of sluice into anthropic-sdk-go v2.
//
// It talks to an in-process llmtest fake API unless ANTHROPIC_API_KEY is set,
// in which case it calls the real API.
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/sluicehq/sluice/llmtest"
	"github.com/sluicehq/sluice/transport"
)

func main() {
	opts := []option.RequestOption{
		// sluice limits, retries, breaks and meters every call.
		option.WithHTTPClient(&http.Client{Transport: transport.New(nil)}),
		// sluice retries with the server's delay; the SDK must not retry again.
		option.WithMaxRetries(0),
	}
	model := anthropic.Model(os.Getenv("ANTHROPIC_MODEL"))
	if os.Getenv("ANTHROPIC_API_KEY") == "" {
		srv := llmtest.NewServer(llmtest.Config{})
		defer srv.Close()
		opts = append(opts, option.WithBaseURL(srv.URL), option.WithAPIKey("llmtest"))
	}
	if model == "" {
		model = "claude-sonnet-4-5"
	}
	client := anthropic.NewClient(opts...)
	msg, err := client.Messages.New(context.Background(), anthropic.MessageNewParams{
		Model:     model,
		MaxTokens: 64,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Say hello."))},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("model %s: %d input tokens, %d output tokens\n", msg.Model, msg.Usage.InputTokens, msg.Usage.OutputTokens)
}
