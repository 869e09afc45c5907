package llmtest

import (
	"strings"
	"time"
)

// Quota is the rate limit of one (API key, model class) pair, like the
// providers' per-model limits (see Config.ModelClass). Each non-zero field is a token bucket of that capacity
// that refills continuously, at capacity per Config.Window. Zero means
// unlimited: the bucket does not exist and its headers are not sent.
type Quota struct {
	// Requests is the number of requests per Window (both providers).
	Requests int
	// InputTokens is Anthropic's input tokens per Window (ITPM), charged
	// at admission with the request's input_tokens plus
	// cache_creation_input_tokens; cache reads are not charged unless
	// Config.CountsCacheReads says the model counts them.
	InputTokens int
	// OutputTokens is Anthropic's output tokens per Window (OTPM), counted
	// as output is generated: max_tokens plays no part. A request is
	// admitted while the bucket's level is positive and the real output is
	// charged when the response is produced, so a long response can put
	// the bucket into debt (a negative level) that later requests wait
	// out. Config.ReserveMaxTokens restores the older documented rule.
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

	// ModelClass maps a model to the class whose buckets it shares, for
	// both providers. Nil means every model has its own buckets.
	// AnthropicModelClass implements Anthropic's documented classes.
	ModelClass func(model string) string
	// ReserveMaxTokens makes Anthropic's OTPM follow the rule of the 2025
	// rate-limit docs: max_tokens is reserved at admission (a request whose
	// max_tokens exceeds the whole bucket gets a 429 that can never
	// succeed) and settled to the real output when the response ends.
	// False (the default) follows the current docs: output is counted as
	// it is generated.
	ReserveMaxTokens bool
	// CountsCacheReads reports whether a model's cache_read_input_tokens
	// count towards its ITPM. Nil means true only for models whose name
	// starts with "claude-3-5-haiku" (the exception the 2026 docs list).
	CountsCacheReads func(model string) bool
	// CacheMinTokens is the minimum cacheable prompt length: a prefix at a
	// cache_control breakpoint shorter than this is neither read nor
	// written. Zero means 1024 (most models); negative means no minimum.
	CacheMinTokens int
	// CacheTTL maps a cache_control TTL (5 minutes by default, an hour
	// with "ttl": "1h") to the one the fake applies, so a test with a
	// compressed Window can compress the cache's lifetime too, for example
	// func(d time.Duration) time.Duration { return d / 60 }. Nil keeps the
	// real TTLs.
	CacheTTL func(ttl time.Duration) time.Duration
	// ExactHeaders sends the Anthropic remaining-token headers exactly.
	// By default they are rounded to the nearest thousand, as the API's
	// are (requests-remaining is always exact).
	ExactHeaders bool
}

// AnthropicModelClass is Anthropic's documented sharing of rate limits
// between models (2026): every "claude-opus-4*" model is in class
// "claude-opus-4"; "claude-sonnet-4-5*" and "claude-sonnet-4-6*" are in
// "claude-sonnet-4.x"; any other model is its own class. Use it as
// Config.ModelClass.
func AnthropicModelClass(model string) string {
	switch {
	case strings.HasPrefix(model, "claude-opus-4"):
		return "claude-opus-4"
	case strings.HasPrefix(model, "claude-sonnet-4-5"), strings.HasPrefix(model, "claude-sonnet-4-6"):
		return "claude-sonnet-4.x"
	}
	return model
}

// defaultCountsCacheReads is CountsCacheReads when Config leaves it nil.
func defaultCountsCacheReads(model string) bool {
	return strings.HasPrefix(model, "claude-3-5-haiku")
}

// defaultCacheMinTokens is CacheMinTokens' default.
const defaultCacheMinTokens = 1024

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
	if c.ModelClass == nil {
		c.ModelClass = func(m string) string { return m }
	}
	if c.CountsCacheReads == nil {
		c.CountsCacheReads = defaultCountsCacheReads
	}
	switch {
	case c.CacheMinTokens == 0:
		c.CacheMinTokens = defaultCacheMinTokens
	case c.CacheMinTokens < 0:
		c.CacheMinTokens = 0
	}
	if c.CacheTTL == nil {
		c.CacheTTL = func(d time.Duration) time.Duration { return d }
	}
	return c
}
