// Package limiter keeps LLM API clients under their provider's limits:
// requests per minute, input and output tokens per minute and requests in
// flight. It knows nothing of HTTP; package transport feeds it.
//
// # Model
//
// Every key — by default an API key's fingerprint plus the model's class,
// because providers limit per model or class of models — has four token
// buckets, one per Kind:
// requests, input tokens, output tokens (Anthropic's ITPM and OTPM) and
// tokens (OpenAI's TPM). A bucket holds up to its limit and refills
// continuously at limit per window, as the providers' buckets do.
//
// A request reserves before it is sent what the provider will count: one
// request; the input tokens, estimated from the body's size by a fit
// calibrated per model from reported usage, less a cached prompt prefix
// (Request.Prefixes) the provider does not count; and the output by the
// provider's rule (OutputRule): for Anthropic, what the key's recent answers
// generated, since output counts as it is generated; for OpenAI's TPM,
// max_tokens. When the real usage is known the reservation is settled: an
// overestimate goes back, an underestimate is charged, into debt if need
// be. A request that fails, is cancelled or is rejected gives its
// reservation back.
//
// Token counts are estimates, so they never refuse a request: one larger
// than a bucket is admitted once the bucket is full, one whose token wait
// would outlast its deadline is admitted at once, and the provider judges.
// A *CapacityError comes only where the provider documents a refusal
// (OutputAtMaxTokens), a *WaitError only from waits that are certain.
//
// Limits need no configuration: the transport layer reports every
// response's rate-limit headers through Observe, and the limiter adopts the
// provider's limit as capacity and its remaining as the current level. Until
// a key's first response arrives only a small first wave (WithFirstWave) is
// sent. Explicit limits (WithLimits) apply from the start and cap what is
// learned. A 429 or 529 with a server delay sets a cool-down (Cooldown):
// nothing for that key is sent before the moment the provider named.
//
// The provider counts a request when it arrives, the limiter when it grants
// it; at a bucket's limit, where the provider's full bucket refills nothing
// until the request reaches it, the difference matters. A caller that can
// tell when a request has been written in full reports it
// (Request.ReportsSend, Reservation.WantsSend, Reservation.Sent), and the
// refill of its transit is held back from other acquires until the provider
// will have counted it.
//
// Acquires of a key queue in FIFO order, interactive ahead of batch
// (ContextWithPriority). Only the head of the queue consults the buckets, so
// a large request is not starved by small ones behind it. The queue can be
// bounded (WithMaxQueue, ErrQueueFull), requests in flight can be capped
// (WithConcurrency) or adapted to 429/529 (WithAIMD), and an acquire whose
// wait for a cool-down or the requests limit exceeds its context's deadline
// fails at once with a *WaitError instead of waiting for a slot it cannot
// use.
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
//	r.Settle(limiter.Spent{InputTokens: resp.In, OutputTokens: resp.Out})
package limiter
