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
// Config.Quota sets limits per (API key, model class), enforced as the
// providers document them: continuously refilled token buckets that go from
// empty to full in one Config.Window (default a minute; tests compress it).
// Config.ModelClass groups models that share buckets (AnthropicModelClass
// is Anthropic's grouping). Admission checks all of a request's buckets at
// once and charges all or none:
//
//   - Anthropic: requests; input tokens, charged with input_tokens plus
//     cache_creation_input_tokens (cache reads only for the models
//     Config.CountsCacheReads names, by default Claude Haiku 3.5); output
//     tokens counted as generated: admitted while the bucket is positive
//     and charged the real output, so a long response leaves it in debt.
//     Config.ReserveMaxTokens restores the older rule (max_tokens reserved
//     at admission, settled at the end).
//   - OpenAI: requests, and tokens (input plus max_tokens, settled to input
//     plus the real output).
//
// # Prompt caching
//
// Anthropic cache_control blocks (on tools, system text blocks and message
// content blocks; at most 4) are breakpoints. A prefix written for the same
// API key and model within its TTL (5 minutes, or an hour with "ttl": "1h",
// refreshed by reads; Config.CacheTTL compresses them) is read; the usage
// reports cache_read_input_tokens, cache_creation_input_tokens and the
// uncached rest as input_tokens. Prefixes shorter than
// Config.CacheMinTokens (default 1024) are not cached.
//
// A refused request gets 429 with retry-after (whole seconds, rounded up,
// at least 1) computed from the buckets and x-should-retry: true. A request
// larger than a bucket's capacity gets a 429 without retry-after: it can
// never succeed. Every response carries the rate-limit headers of its
// buckets: anthropic-ratelimit-* with RFC 3339 resets and remaining token
// counts rounded to the nearest thousand (Config.ExactHeaders turns the
// rounding off), or x-ratelimit-* with Go-style duration resets.
//
// # Tokens
//
// CountTokens is the documented rule: ceil(bytes/4) of all message text
// (and, for Anthropic, of the tool definitions' JSON).
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
