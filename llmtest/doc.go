// Package llmtest provides a fake Anthropic and OpenAI API for tests, what
// net/http/httptest is to net/http.
package llmtest
