package telemetry

import "go.opentelemetry.io/otel/attribute"

// Attribute keys shared by several layers. Layer-specific keys live in the
// file of that layer (retry.go, limiter.go, breaker.go, genai.go).
const (
	// AttrProviderName is the GenAI provider: "anthropic" or "openai".
	AttrProviderName = attribute.Key("gen_ai.provider.name")
	// AttrOperationName is the GenAI operation, e.g. "chat".
	AttrOperationName = attribute.Key("gen_ai.operation.name")
	// AttrRequestModel is the model named in the request body.
	AttrRequestModel = attribute.Key("gen_ai.request.model")
	// AttrErrorType is the semantic-convention error.type: an HTTP status
	// code as a string, or a short error class such as "breaker_open".
	AttrErrorType = attribute.Key("error.type")
	// AttrHTTPStatus is http.response.status_code.
	AttrHTTPStatus = attribute.Key("http.response.status_code")
	// AttrLimitKey identifies a limiter or breaker key. It never contains an
	// API key: keys are built from a truncated SHA-256 fingerprint.
	AttrLimitKey = attribute.Key("sluice.key")
)
