package transport

import (
	"log/slog"

	"github.com/sluicehq/sluice/telemetry"
)

// Option configures New: a layer's settings (WithRetry, WithLimit,
// WithBreaker, WithMeter), a layer left out (WithoutRetry, WithoutLimit,
// WithoutBreaker, WithoutMeter, WithoutAttemptSpans), or what every layer
// shares (the LayerOptions WithTelemetry and WithLogger).
type Option interface {
	apply(*config)
}

// LayerOption configures what every layer shares: where its telemetry goes
// and its logger. A layer built on its own (Retry, Limit, Breaker, Meter,
// Attempt) takes its settings struct and LayerOptions only, so a setting
// meant for another layer cannot be passed to it. New takes LayerOptions
// too.
type LayerOption interface {
	Option
	layer()
}

type option func(*config)

func (o option) apply(c *config) { o(c) }

type layerOption func(*config)

func (o layerOption) apply(c *config) { o(c) }
func (layerOption) layer()            {}

// config is resolved once, at construction.
type config struct {
	telOpts []telemetry.Option
	tel     telemetry.Providers
	logger  *slog.Logger
	retry   RetrySettings
	limit   LimitSettings
	breaker BreakerSettings
	meter   MeterSettings
	// the layers New leaves out
	noMeter, noRetry, noBreaker, noLimit, noAttempt bool
	// closed is closed by Transport.Close: the retry layer's and the
	// breaker's waits end with limiter.ErrClosed. nil (never closed) for a
	// layer built on its own.
	closed <-chan struct{}
}

func newConfig[O Option](opts []O) *config {
	c := &config{}
	for _, o := range opts {
		if any(o) != nil {
			o.apply(c)
		}
	}
	c.tel = telemetry.Resolve(c.telOpts...)
	if c.logger == nil {
		c.logger = slog.Default()
	}
	return c
}

// WithTelemetry sets where the layers send spans and metrics (see
// telemetry.WithTracerProvider and telemetry.WithMeterProvider). The default
// is the global OpenTelemetry providers.
func WithTelemetry(opts ...telemetry.Option) LayerOption {
	return layerOption(func(c *config) { c.telOpts = append(c.telOpts, opts...) })
}

// WithLogger sets the log/slog logger for state changes and fallbacks. The
// default is slog.Default(). sluice never logs API keys or prompt text.
func WithLogger(l *slog.Logger) LayerOption {
	return layerOption(func(c *config) { c.logger = l })
}

// WithRetry sets the retry layer's settings; zero fields keep their
// defaults (see RetrySettings).
func WithRetry(s RetrySettings) Option { return option(func(c *config) { c.retry = s }) }

// WithLimit sets the limit layer's settings: the limiter and how requests
// are grouped under its limits (see LimitSettings).
func WithLimit(s LimitSettings) Option { return option(func(c *config) { c.limit = s }) }

// WithBreaker sets the circuit breaker's settings; zero fields keep their
// defaults (see BreakerSettings).
func WithBreaker(s BreakerSettings) Option { return option(func(c *config) { c.breaker = s }) }

// WithMeter sets the metering layer's settings (see MeterSettings).
func WithMeter(s MeterSettings) Option { return option(func(c *config) { c.meter = s }) }

// WithoutMeter makes New leave out the metering layer: no call span, no
// GenAI metrics, no usage callback.
func WithoutMeter() Option { return option(func(c *config) { c.noMeter = true }) }

// WithoutRetry makes New leave out the retry layer.
func WithoutRetry() Option { return option(func(c *config) { c.noRetry = true }) }

// WithoutBreaker makes New leave out the circuit breaker.
func WithoutBreaker() Option { return option(func(c *config) { c.noBreaker = true }) }

// WithoutLimit makes New leave out the limit layer: no proactive limits, no
// concurrency cap, no cool-down shared by API key (the retry layer's own
// cool-down by host and model then applies).
func WithoutLimit() Option { return option(func(c *config) { c.noLimit = true }) }

// WithoutAttemptSpans makes New leave out the otelhttp attempt layer: no
// span per physical HTTP request and no http.client.* metrics.
func WithoutAttemptSpans() Option { return option(func(c *config) { c.noAttempt = true }) }
