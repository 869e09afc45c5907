package transport

// stackConfig says which layers New leaves out.
type stackConfig struct {
	noMeter, noRetry, noBreaker, noLimiter, noAttempt bool
}

// WithoutMeter makes New leave out the metering layer: no call span, no
// GenAI metrics, no usage callback.
func WithoutMeter() Option { return func(c *config) { c.stack.noMeter = true } }

// WithoutRetry makes New leave out the retry layer.
func WithoutRetry() Option { return func(c *config) { c.stack.noRetry = true } }

// WithoutBreaker makes New leave out the circuit breaker.
func WithoutBreaker() Option { return func(c *config) { c.stack.noBreaker = true } }

// WithoutLimiter makes New leave out the limiter: no proactive limits, no
// concurrency cap, no cool-down shared by API key (the retry layer's own
// cool-down by host and model then applies).
func WithoutLimiter() Option { return func(c *config) { c.stack.noLimiter = true } }

// WithoutAttemptSpans makes New leave out the otelhttp attempt layer: no span
// per physical HTTP request and no http.client.* metrics.
func WithoutAttemptSpans() Option { return func(c *config) { c.stack.noAttempt = true } }
