package llmtest

import "time"

// Quota is the rate limit of one (API key, model) pair, like the providers'
// per-model limits. Each non-zero field is a token bucket of that capacity
// that refills continuously, at capacity per Config.Window. Zero means
// unlimited: the bucket does not exist and its headers are not sent.
type Quota struct {
	// Requests is the number of requests per Window (both providers).
	Requests int
	// InputTokens is Anthropic's input tokens per Window (ITPM), charged
	// at admission with the CountTokens estimate of the request.
	InputTokens int
	// OutputTokens is Anthropic's output tokens per Window (OTPM). Like
	// Anthropic, the server reserves max_tokens when the request starts and
	// settles to the real count when the response ends.
	OutputTokens int
	// Tokens is OpenAI's tokens per Window (TPM): input plus max_tokens
	// reserved at admission, settled to input plus the real output at the
	// end.
	Tokens int
}

// Config configures a Server. The zero value is a server with no quota and
// no faults that answers every well-formed request with 200.
type Config struct {
	// Window is the refill period of the buckets: a bucket refills from
	// empty to full in one Window. Zero means time.Minute; tests compress
	// it (for example to one second) to run "a minute" quickly.
	Window time.Duration
	// Quota applies to every (API key, model) pair independently.
	Quota Quota
	// InitialFill is the fraction of each bucket available when the server
	// starts, in (0, 1]. Zero means full. Buckets are created on first use
	// but behave as if they had existed since the server started.
	InitialFill float64
	// OutputTokens returns how many tokens a response generates. Nil means
	// min(maxTokens, 16); for an OpenAI request without a token limit,
	// maxTokens is 0 and the default generates 16.
	OutputTokens func(model string, inputTokens, maxTokens int) int
	// Latency delays every response before its headers are written.
	Latency time.Duration
	// StreamEventDelay is the delay between SSE events.
	StreamEventDelay time.Duration
	// RetryAfterMs makes quota 429s also carry retry-after-ms, the exact
	// wait in milliseconds (rounded up). retry-after is always sent, in
	// whole seconds rounded up, at least 1.
	RetryAfterMs bool
	// Seed seeds the random source of the probabilistic Faults, so a run is
	// reproducible when requests arrive in the same order.
	Seed int64
	// Faults are probabilistic faults: for every request, each fault with
	// Probability > 0 is drawn in order and the first that hits applies.
	// A request draws once per fault whatever happens, so the sequence of
	// faults depends only on the Seed and the order of arrivals.
	Faults []Fault
	// Outages are windows, relative to the server's start, during which
	// every request fails.
	Outages []Outage
	// MaxRecorded bounds the arrivals Requests keeps, so a long run does
	// not grow without bound: past it the oldest half is dropped (counted
	// in Stats.Forgotten). Zero means 100 000; negative, no bound. Stats'
	// counters are exact whatever it is.
	MaxRecorded int
}

// defaultOutputTokens is the OutputTokens used when Config.OutputTokens is
// nil.
func defaultOutputTokens(_ string, _, maxTokens int) int {
	if maxTokens <= 0 || maxTokens > 16 {
		return 16
	}
	return maxTokens
}

// withDefaults resolves the zero values of c once, at construction.
func (c Config) withDefaults() Config {
	if c.Window <= 0 {
		c.Window = time.Minute
	}
	if c.InitialFill <= 0 || c.InitialFill > 1 {
		c.InitialFill = 1
	}
	if c.OutputTokens == nil {
		c.OutputTokens = defaultOutputTokens
	}
	return c
}
