// Package limiter keeps LLM API clients under their provider's limits:
// requests per minute, input and output tokens per minute and requests in
// flight. It knows nothing of HTTP; package transport feeds it.
package limiter
