package sdktest

// The SDK clients these tests drive. Imported here so the examples module
// keeps requiring them while tests come and go.
import (
	_ "github.com/anthropics/anthropic-sdk-go/v2"
	_ "github.com/anthropics/anthropic-sdk-go/v2/option"
	_ "github.com/openai/openai-go/v3"
	_ "github.com/openai/openai-go/v3/option"
)
