// Package transport turns sluice's limiter, retries, circuit breaker and
// metering into http.RoundTripper layers that plug into any HTTP client —
// and so into anthropic-sdk-go and openai-go through option.WithHTTPClient.
//
// # The stack
//
// New builds the recommended stack; each layer is also a constructor of its
// own (Meter, Retry, Breaker, Limit, Attempt) for those who compose by hand.
// A request goes down through the layers, outermost first, and its response
// comes back up through the same layers:
//
//	Meter → Retry → Breaker → Limit → Attempt → base
//
// The order follows from what each layer counts. Meter is outermost because
// it sees the logical call exactly once: the caller's whole wait, every
// retry, and the one final response whose usage is billed. Retry sits above
// Breaker and Limit because every retry is a new request to the provider:
// each attempt passes the breaker (an open breaker keeps retries off a
// failing API) and takes its own quota from the limiter (a retry costs a
// request and tokens at the provider too). Breaker sits above Limit so that
// calls waiting out an outage hold no concurrency slot and reserve no
// tokens, and the limiter paces them when the API recovers. Limit is just
// above the attempt: it reserves immediately before bytes leave and holds
// the concurrency slot until the response body is closed, since the
// provider counts a stream as in flight for as long as it lasts. Attempt,
// innermost, records one span per physical HTTP request.
//
// # Configuration
//
// Each layer has one settings struct whose zero value is the layer's
// default: RetrySettings, LimitSettings, BreakerSettings, MeterSettings.
// New takes them as options (WithRetry, WithLimit, WithBreaker,
// WithMeter), leaves a layer out with WithoutRetry, WithoutLimit,
// WithoutBreaker, WithoutMeter or WithoutAttemptSpans, and passes
// WithTelemetry and WithLogger to every layer. A layer built on its own
// takes its settings struct and those two LayerOptions only, so a setting
// meant for another layer cannot be given to it. Limits, the window,
// concurrency and a shared Store are the limiter's: build one with
// limiter.New and pass it in LimitSettings.Limiter.
//
// # What travels between layers
//
// Data flows one way; what a layer learns it hands on through a narrow
// channel, never by reaching around a neighbour.
//
//   - The request's fields (model, max_tokens, stream; RequestFields) are
//     read once per call by the meter from a copy of the body
//     (req.GetBody; req.Body is never consumed, so the body still replays)
//     and passed down in the request's context. A layer used without the
//     meter reads them itself.
//   - The attempt number goes from Retry to Attempt in the context.
//   - Usage travels up in the response body it was read from. The limit
//     layer wraps each 2xx body and reads the usage (JSON or SSE) as the
//     caller consumes it, without buffering, to settle its reservation; the
//     meter takes the usage from that body for its metrics and
//     MeterSettings.OnUsage, and reads any other body itself, so it always
//     reports the body the caller read.
//   - Every response's rate-limit headers (anthropic-ratelimit-*,
//     x-ratelimit-*) go to the limiter, which learns the limits from them;
//     a 429 or 529 with a server delay (and no hard quota) sets the key's
//     cool-down.
//
// # Errors
//
// A response from the provider is returned as it came — status, headers,
// body — so an SDK builds its own typed error exactly as without sluice;
// when the retry layer gives up on a retryable response it only sets
// x-should-retry: false on it, so the SDK does not retry it again.
//
// A local refusal is a layer of the stack refusing a call before anything
// reached the network: an open breaker (*BreakerOpenError, matching
// ErrBreakerOpen) or the limiter (limiter.ErrQueueFull, *limiter.WaitError
// matching limiter.ErrWouldExceedDeadline and context.DeadlineExceeded,
// *limiter.CapacityError matching limiter.ErrExceedsCapacity,
// limiter.ErrClosed). A local refusal is final: the retry layer returns it
// at once and the breaker does not count it. When the retry layer has no
// response to give back, it returns a *RetryError wrapping both a sentinel
// reason (ErrRetriesExhausted, ErrDeadlineTooSoon, …) and the cause. Test
// errors with errors.Is and errors.As: through an SDK they arrive inside a
// *url.Error, which both see through.
//
// # Never worse than the bare SDK
//
// A layer that fails a call the API would have served, or makes a workload
// slower than the SDK alone (apart from the pacing that avoids 429s), is a
// defect. Where sluice's estimate is uncertain the provider judges: a
// token estimate never refuses a call the provider might serve, and the
// limiter corrects itself from the answer (usage, headers, a 429).
//
// # Example
//
// Wire the stack into anthropic-sdk-go or openai-go and turn the SDK's own
// retries off, so that it does not retry what sluice already retried:
//
//	t := transport.New(nil)
//	defer t.Close()
//	client := anthropic.NewClient(
//		option.WithHTTPClient(&http.Client{Transport: t}),
//		option.WithMaxRetries(0),
//	)
//
// If the SDK's retries are left on, the final responses sluice returns
// carry x-should-retry: false, which both SDKs obey, so attempts do not
// multiply; errors returned without a response (a canceled wait, an open
// breaker the call's deadline cannot wait for) are still retried by the
// SDK.
package transport
