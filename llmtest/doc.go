// Package llmtest is a fake Anthropic and OpenAI API for tests: what
// net/http/httptest is to net/http. NewServer starts a real HTTP server on
// loopback that speaks the providers' wire formats closely enough that the
// real anthropic-sdk-go and openai-go clients work against it unchanged
// (base URL Server.URL for Anthropic, Server.URL+"/v1/" for OpenAI).
//
// # Endpoints
//
// Anthropic: POST /v1/messages (JSON, or SSE with "stream": true: the
// documented message_start … message_delta … message_stop sequence with a
// ping) and POST /v1/messages/count_tokens. OpenAI: POST
// /v1/chat/completions (JSON, or data-only SSE ending in data: [DONE], with
// the usage chunk when stream_options.include_usage is set) and POST
// /v1/responses (JSON, or events ending in response.completed). Paths match
// by suffix, so a base URL with a prefix works too. Errors use each
// provider's JSON error shape, with request-id (Anthropic) or x-request-id
// (OpenAI).
//
// # Quotas
//
// Config.Quota sets limits per (API key, model), enforced as the providers
// document them: continuously refilled token buckets that go from empty to
// full in one Config.Window (default a minute; tests compress it).
// Admission checks all of a request's buckets at once and charges all or
// none:
//
//   - Anthropic: requests, input tokens (CountTokens of the request) and
//     output tokens, reserved at max_tokens and settled to the real count
//     when the response ends.
//   - OpenAI: requests, and tokens (input plus max_tokens, settled to input
//     plus the real output).
//
// A refused request gets 429 with retry-after (whole seconds, rounded up,
// at least 1) computed from the buckets and x-should-retry: true. A request
// larger than a bucket's capacity gets a 429 without retry-after: it can
// never succeed. Every response carries the rate-limit headers of its
// buckets: anthropic-ratelimit-* with RFC 3339 resets, or x-ratelimit-*
// with Go-style duration resets.
//
// # Tokens
//
// CountTokens is the documented rule: ceil(bytes/4) of all message text.
// Responses generate Config.OutputTokens tokens (default min(max_tokens,
// 16)) of text that itself counts that many tokens by the same rule.
//
// # Faults and counters
//
// Faults are scripted per test with Server.Inject, drawn per request with
// Config.Faults (reproducible by Config.Seed), or scheduled as outages.
// Stats and Requests tell a test what the server saw: arrivals, statuses,
// 429s, herd arrivals (a key coming back before the retry-after it was
// given), peak concurrency, tokens, and a hash of every attempt's body.
package llmtest
