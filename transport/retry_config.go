package transport

import "time"

// RetrySettings tune the retry layer. A zero field takes its default, so
// RetrySettings{} is the layer New builds.
//
// A failed attempt (429, 529, 5xx, a connection error, or a response with
// x-should-retry: true) is retried after the delay the server names
// (retry-after-ms, then Retry-After), with upward jitter, or else after an
// exponential backoff with downward jitter; x-should-retry: false and
// non-retryable statuses are returned at once. A retry budget bounds the
// retries of all calls together.
type RetrySettings struct {
	// MaxAttempts is the number of attempts per call, the first one
	// included. Default 8; 1 turns retries off.
	MaxAttempts int
	// InitialBackoff and MaxBackoff bound the exponential backoff used when
	// the server names no delay: the first step is InitialBackoff, each next
	// one twice as long up to MaxBackoff, and each wait is drawn uniformly
	// in [step/2, step]. Defaults 0.5 s (or MaxBackoff, when that is set
	// and shorter) and 4 s; a MaxBackoff below InitialBackoff means
	// InitialBackoff.
	InitialBackoff, MaxBackoff time.Duration
	// MaxElapsedTime bounds the time one call may spend in the layer: a
	// retry whose wait would end later is not made and the last response
	// is returned. Default 5 minutes; negative: no bound. The context's
	// deadline always applies.
	MaxElapsedTime time.Duration
	// MaxServerDelay is the longest Retry-After (or retry-after-ms) the
	// layer waits for. When the server asks for longer, the layer returns
	// that response at once rather than sleep for an hour. Default 2
	// minutes (openai-go's cap). The limit layer's cool-down after a 429 or
	// 529 is bounded by it too.
	MaxServerDelay time.Duration
	// ServerDelayJitter is the fraction of a server-given delay added on
	// top of it, uniformly in [0, ServerDelayJitter·delay] and at most 5 s:
	// it spreads callers that were all told the same moment without ever
	// retrying earlier than the server asked. Default 0.2; negative: none.
	ServerDelayJitter float64
	// BudgetRatio and BudgetMinPerSecond bound retries to BudgetRatio × the
	// calls of the last 10 seconds plus BudgetMinPerSecond retries per
	// second, as Envoy, gRPC and Finagle do, so that a fleet cannot
	// multiply its own load in an outage. A retry the budget refuses waits
	// for room within the call's deadline, MaxElapsedTime and 10 s; only
	// when waiting cannot help is the last response returned. Defaults 1.0
	// and 10. A negative BudgetRatio removes the budget; a negative
	// BudgetMinPerSecond allows no retries beyond the ratio.
	BudgetRatio, BudgetMinPerSecond float64
	// MaxReplayBody is the largest request body the layer buffers in memory
	// to replay on a retry, for requests without GetBody; a larger body is
	// sent once and never retried. Requests with GetBody (all SDK requests)
	// are replayed through it and never buffered. Default 32 MiB, the
	// Messages API's own request limit; negative: never buffer.
	MaxReplayBody int64
	// AttemptTimeout bounds each attempt until its response headers
	// arrive; an attempt that times out is retried like a connection
	// error. Default 0: no per-attempt bound (the caller's context still
	// bounds the whole call).
	AttemptTimeout time.Duration
}

// retryConfig is RetrySettings resolved: every field set.
type retryConfig struct {
	maxAttempts    int
	initial        time.Duration
	maxInterval    time.Duration
	maxElapsed     time.Duration // 0: no bound
	maxServerDelay time.Duration
	// serverJitter is the fraction of a server-given delay added on top of
	// it, uniformly in [0, serverJitter·delay], capped at maxServerJitter:
	// jitter only ever lengthens what the server asked for.
	serverJitter    float64
	maxServerJitter time.Duration
	budget          bool
	budgetRatio     float64
	budgetMinPerS   float64
	budgetWindow    time.Duration
	maxReplayBody   int64
	cooldown        bool
	maxPeekBytes    int
	maxDrainBytes   int64
	attemptTimeout  time.Duration
}

// Defaults of the retry layer, chosen for the Anthropic and OpenAI APIs.
const (
	// defaultMaxAttempts: the SDKs make 3 attempts (5 with
	// WithMaxRetries(4)); a degraded API that fails 20 % of attempts fails
	// 0.2⁵ of calls after 5 but 0.2⁸ after 8, so sluice completes what the
	// SDK would. The retry budget and the breaker keep the extra attempts
	// from multiplying load in an outage, and the server's Retry-After
	// keeps them from hammering.
	defaultMaxAttempts = 8
	// defaultInitialBackoff and defaultMaxBackoff: 0.5 s doubling to 4 s,
	// the steps anthropic-sdk-go and openai-go take before their fifth
	// attempt, so sluice's first five attempts come no later than the
	// SDK's, and those beyond them — where the SDK has given up — 2–4 s
	// apart. An outage is the breaker's to pace, not the backoff's.
	defaultInitialBackoff = 500 * time.Millisecond
	defaultMaxBackoff     = 4 * time.Second
	defaultMaxElapsedTime = 5 * time.Minute
	defaultMaxServerDelay = 2 * time.Minute
	// defaultBudgetRatio: one retry per call of the last 10 seconds, plus
	// 10 per second: at most twice the load the calls alone make (the SDK
	// with 4 retries may make five times). Finagle's 20 % is made for
	// services where a fifth of requests failing means trouble; an LLM API
	// answering a third of attempts 529 needs about one retry for every
	// two calls, and a tighter budget held those retries back for seconds
	// each, slowing a degradation the SDK rides through.
	defaultBudgetRatio        = 1.0
	defaultBudgetMinPerSecond = 10
	defaultServerDelayJitter  = 0.2
	defaultMaxReplayBody      = 32 << 20
)

// config resolves the settings: every zero field takes its default.
func (s RetrySettings) config() retryConfig {
	c := retryConfig{
		maxAttempts:     s.MaxAttempts,
		initial:         s.InitialBackoff,
		maxInterval:     s.MaxBackoff,
		maxElapsed:      s.MaxElapsedTime,
		maxServerDelay:  s.MaxServerDelay,
		serverJitter:    s.ServerDelayJitter,
		maxServerJitter: 5 * time.Second,
		budget:          s.BudgetRatio >= 0,
		budgetRatio:     s.BudgetRatio,
		budgetMinPerS:   s.BudgetMinPerSecond,
		budgetWindow:    10 * time.Second,
		maxReplayBody:   s.MaxReplayBody,
		cooldown:        true,
		maxPeekBytes:    16 << 10,
		maxDrainBytes:   64 << 10,
		attemptTimeout:  max(s.AttemptTimeout, 0),
	}
	if c.maxAttempts < 1 {
		c.maxAttempts = defaultMaxAttempts
	}
	if c.initial <= 0 {
		c.initial = defaultInitialBackoff
		if s.MaxBackoff > 0 {
			c.initial = min(c.initial, s.MaxBackoff)
		}
	}
	if c.maxInterval <= 0 {
		c.maxInterval = max(defaultMaxBackoff, c.initial)
	}
	c.maxInterval = max(c.maxInterval, c.initial)
	c.maxElapsed = orDefault(c.maxElapsed, defaultMaxElapsedTime)
	if c.maxServerDelay <= 0 {
		c.maxServerDelay = defaultMaxServerDelay
	}
	c.serverJitter = orDefault(c.serverJitter, defaultServerDelayJitter)
	if c.budgetRatio == 0 {
		c.budgetRatio = defaultBudgetRatio
	}
	c.budgetMinPerS = orDefault(c.budgetMinPerS, defaultBudgetMinPerSecond)
	c.maxReplayBody = orDefault(c.maxReplayBody, defaultMaxReplayBody)
	return c
}

// orDefault is the rule of the settings whose zero value is a default and
// whose negative values turn the thing off: 0 gives def, below 0 gives 0.
func orDefault[T int | int64 | float64 | time.Duration](v, def T) T {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}
