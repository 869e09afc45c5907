// Package limiter keeps LLM API clients under their provider's limits:
// requests per minute, input and output tokens per minute and requests in
// flight. It knows nothing of HTTP; package transport feeds it.
//
// # Model
//
// Every key — by default an API key's fingerprint plus the model, because
// providers limit per model — has four token buckets, one per Kind:
// requests, input tokens, output tokens (Anthropic's ITPM and OTPM) and
// tokens (OpenAI's TPM). A bucket holds up to its limit and refills
// continuously at limit per window, as the providers' buckets do.
//
// A request reserves before it is sent: one request, its estimated input
// tokens (body bytes divided by a bytes-per-token ratio calibrated per model
// from reported usage), and its max_tokens as output — exactly how Anthropic
// accounts output tokens. When the real usage is known the reservation is
// settled: unused tokens go back, an underestimate is charged. A request
// that fails, is cancelled or is rejected gives its reservation back. A
// request larger than a bucket can ever hold fails at once with a
// *CapacityError.
//
// Limits need no configuration: the transport layer reports every
// response's rate-limit headers through Observe, and the limiter adopts the
// provider's limit as capacity and its remaining as the current level. Until
// a key's first response arrives only a small first wave (WithFirstWave) is
// sent. Explicit limits (WithLimits) apply from the start and cap what is
// learned. A 429 or 529 with a server delay sets a cool-down (Cooldown):
// nothing for that key is sent before the moment the provider named.
//
// Acquires of a key queue in FIFO order, interactive ahead of batch
// (ContextWithPriority). Only the head of the queue consults the buckets, so
// a large request is not starved by small ones behind it. The queue can be
// bounded (WithMaxQueue, ErrQueueFull), requests in flight can be capped
// (WithConcurrency) or adapted to 429/529 (WithAIMD), and an acquire whose
// estimated wait exceeds its context's deadline fails at once with a
// *WaitError instead of waiting for a slot it cannot use.
//
// Buckets and cool-downs live in a Store: in memory by default, or shared by
// a fleet of processes (WithStore) so they spend one quota together.
//
// # Example
//
//	l := limiter.New(limiter.WithConcurrency(16))
//	r, err := l.Acquire(ctx, key, limiter.Request{Model: m, InputBytes: n, MaxOutputTokens: 1024})
//	if err != nil {
//		return err
//	}
//	resp, err := send()
//	if err != nil {
//		r.Cancel()
//		return err
//	}
//	r.Settle(limiter.Usage{InputTokens: resp.In, OutputTokens: resp.Out})
package limiter
