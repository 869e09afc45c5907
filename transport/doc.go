// Package transport turns sluice's limiter, retry, breaker and metering
// into http.RoundTripper layers that plug into any HTTP client — and so into
// anthropic-sdk-go and openai-go through option.WithHTTPClient.
//
// The recommended stack, outermost first, is
//
//	metering (call span, GenAI metrics) → retry → breaker → limiter → attempt (otelhttp) → base
//
// docs/architecture.md explains the order.
package transport
