package transport

import "time"

// retryConfig holds the settings of the retry layer. Zero values never
// reach the layer: defaultRetryConfig fills every field and the options
// below ignore out-of-range values, keeping the default.
type retryConfig struct {
	maxAttempts    int
	initial        time.Duration
	maxInterval    time.Duration
	maxElapsed     time.Duration
	maxServerDelay time.Duration
	// serverJitter is the fraction of a server-given delay added on top of
	// it, uniformly in [0, serverJitter·delay], capped at maxServerJitter:
	// jitter only ever lengthens what the server asked for.
	serverJitter    float64
	maxServerJitter time.Duration

	budget         bool
	budgetRatio    float64
	budgetMinPerS  float64
	budgetWindow   time.Duration
	maxReplayBody  int64
	cooldown       bool
	maxPeekBytes   int
	maxDrainBytes  int64
	attemptTimeout time.Duration
}

// Defaults of the retry layer, chosen for the Anthropic and OpenAI APIs.
const (
	// DefaultMaxAttempts is the number of attempts per call, first one
	// included. The SDKs make 3 (5 with WithMaxRetries(4)); a degraded API
	// that fails 20 % of attempts fails 0.2⁵ of calls after 5 but 0.2⁸
	// after 8, so sluice completes what the SDK would. The retry budget and
	// the breaker keep the extra attempts from multiplying load in an
	// outage, and the server's Retry-After keeps them from hammering.
	DefaultMaxAttempts = 8
	// DefaultInitialBackoff and DefaultMaxBackoff bound the exponential
	// backoff used when the server names no delay (529s often carry none):
	// 0.5 s doubling to 4 s, the steps anthropic-sdk-go and openai-go take
	// before their fifth attempt (WithMaxRetries(4)), so sluice's first
	// five attempts come no later than the SDK's, and those beyond them —
	// where the SDK has given up — 2–4 s apart. An outage is the breaker's
	// to pace, not the backoff's; the retry budget bounds the total.
	DefaultInitialBackoff = 500 * time.Millisecond
	DefaultMaxBackoff     = 4 * time.Second
	// DefaultMaxElapsedTime bounds the time one call spends retrying.
	DefaultMaxElapsedTime = 5 * time.Minute
	// DefaultMaxServerDelay is the longest Retry-After the layer sleeps
	// for; a longer one is returned to the caller at once (openai-go uses
	// the same 2-minute cap).
	DefaultMaxServerDelay = 2 * time.Minute
	// DefaultRetryBudgetRatio and DefaultRetryBudgetMinPerSecond bound
	// retries to one per call of the last 10 seconds, plus 10 per second:
	// at most twice the load the calls alone make (the SDK with 4 retries
	// may make five times). Finagle's 20 % is made for services where a
	// fifth of requests failing means trouble; an LLM API answering a
	// third of attempts 529 needs about one retry for every two calls,
	// and a tighter budget held those retries back for seconds each,
	// slowing a degradation the SDK rides through. An outage is the
	// breaker's to stop.
	DefaultRetryBudgetRatio        = 1.0
	DefaultRetryBudgetMinPerSecond = 10
	// DefaultMaxReplayBody is the largest request body the layer buffers
	// to replay when the request has no GetBody: 32 MiB, the Anthropic
	// Messages API's own request size limit.
	DefaultMaxReplayBody = 32 << 20
)

func defaultRetryConfig() retryConfig {
	return retryConfig{
		maxAttempts:     DefaultMaxAttempts,
		initial:         DefaultInitialBackoff,
		maxInterval:     DefaultMaxBackoff,
		maxElapsed:      DefaultMaxElapsedTime,
		maxServerDelay:  DefaultMaxServerDelay,
		serverJitter:    0.2,
		maxServerJitter: 5 * time.Second,
		budget:          true,
		budgetRatio:     DefaultRetryBudgetRatio,
		budgetMinPerS:   DefaultRetryBudgetMinPerSecond,
		budgetWindow:    10 * time.Second,
		maxReplayBody:   DefaultMaxReplayBody,
		cooldown:        true,
		maxPeekBytes:    16 << 10,
		maxDrainBytes:   64 << 10,
	}
}

// WithMaxAttempts sets how many attempts the retry layer makes per call,
// the first one included (default DefaultMaxAttempts). 1 disables retries;
// values below 1 are ignored.
func WithMaxAttempts(n int) Option {
	return func(c *config) {
		if n >= 1 {
			c.retry.maxAttempts = n
		}
	}
}

// WithBackoff sets the exponential backoff used when the server names no
// delay: the first step is initial, each next one 2× longer up to max, and
// each wait is drawn uniformly in [step/2, step] (downward jitter: never
// longer than the step). Non-positive values, or max < initial, are
// ignored.
func WithBackoff(initial, max time.Duration) Option {
	return func(c *config) {
		if initial > 0 && max >= initial {
			c.retry.initial, c.retry.maxInterval = initial, max
		}
	}
}

// WithMaxElapsedTime bounds the time one call may spend in the retry layer:
// a retry whose wait would end later is not made and the last response is
// returned (default DefaultMaxElapsedTime). 0 removes the bound; the
// context's deadline always applies.
func WithMaxElapsedTime(d time.Duration) Option {
	return func(c *config) {
		if d >= 0 {
			c.retry.maxElapsed = d
		}
	}
}

// WithMaxServerDelay sets the longest Retry-After (or retry-after-ms) the
// layer waits for (default DefaultMaxServerDelay). When the server asks for
// longer, the layer gives up and returns that response to the caller at
// once rather than sleep for an hour. Non-positive values are ignored.
func WithMaxServerDelay(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.retry.maxServerDelay = d
		}
	}
}

// WithRetryBudget bounds retries to ratio × the calls of the last 10
// seconds plus minPerSecond retries per second, as Envoy, gRPC and Finagle
// do, so a fleet cannot multiply its own load during an outage. A retry the
// budget refuses waits for room, within the call's deadline,
// WithMaxElapsedTime and one budget window (10 s): a degraded API slows
// retries down rather than failing calls. Only when waiting cannot help or
// would pass those bounds is the last response returned and the exhaustion
// counted. Defaults: DefaultRetryBudgetRatio and
// DefaultRetryBudgetMinPerSecond. Negative values are ignored.
func WithRetryBudget(ratio, minPerSecond float64) Option {
	return func(c *config) {
		if ratio >= 0 && minPerSecond >= 0 {
			c.retry.budget = true
			c.retry.budgetRatio, c.retry.budgetMinPerS = ratio, minPerSecond
		}
	}
}

// WithoutRetryBudget removes the retry budget: every retryable failure is
// retried up to the attempt and time limits.
func WithoutRetryBudget() Option {
	return func(c *config) { c.retry.budget = false }
}

// WithMaxReplayBody sets the largest request body the retry layer buffers
// in memory to replay on a retry, for requests without GetBody (default
// DefaultMaxReplayBody). A larger body is sent once and never retried.
// Requests with GetBody (all SDK requests) are replayed through it and
// never buffered. Negative values are ignored; 0 means "never buffer".
func WithMaxReplayBody(bytes int64) Option {
	return func(c *config) {
		if bytes >= 0 {
			c.retry.maxReplayBody = bytes
		}
	}
}

// WithoutCooldown turns off the retry layer's own shared cool-down (a
// 429/529 with a server delay holding back every request to the same host
// and model). transport.New sets it when the limit layer provides the
// cool-down instead.
func WithoutCooldown() Option {
	return func(c *config) { c.retry.cooldown = false }
}

// WithServerDelayJitter sets the upward jitter added to a server-given
// delay: a uniform extra wait in [0, fraction·delay], capped at max
// (defaults 0.2 and 5s). It spreads callers that were all told the same
// moment without ever retrying earlier than the server asked. A negative
// fraction or max is ignored; 0 turns the jitter off.
func WithServerDelayJitter(fraction float64, max time.Duration) Option {
	return func(c *config) {
		if fraction >= 0 && max >= 0 {
			c.retry.serverJitter, c.retry.maxServerJitter = fraction, max
		}
	}
}

// WithAttemptTimeout bounds each attempt until its response headers arrive;
// an attempt that times out is retried like a connection error. The
// caller's context still bounds the whole call. 0 (the default) sets no
// per-attempt bound. Negative values are ignored.
func WithAttemptTimeout(d time.Duration) Option {
	return func(c *config) {
		if d >= 0 {
			c.retry.attemptTimeout = d
		}
	}
}
