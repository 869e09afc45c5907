package transport

import (
	"log/slog"

	"github.com/sluicehq/sluice/telemetry"
)

// Option configures a layer of the stack. Every layer constructor (Retry,
// Limit, Breaker, Meter, Attempt) and New take the same Option type, as
// otelhttp does: each layer reads the settings that concern it and ignores
// the rest, so one list of options can configure a whole stack.
type Option func(*config)

// config is resolved once, at construction.
type config struct {
	telOpts []telemetry.Option
	tel     telemetry.Providers
	logger  *slog.Logger

	retry   retryConfig
	limit   limitConfig
	breaker breakerConfig
	meter   meterConfig
	stack   stackConfig
}

func newConfig(opts []Option) *config {
	c := &config{
		retry:   defaultRetryConfig(),
		limit:   defaultLimitConfig(),
		breaker: defaultBreakerConfig(),
		meter:   defaultMeterConfig(),
	}
	for _, o := range opts {
		if o != nil {
			o(c)
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
func WithTelemetry(opts ...telemetry.Option) Option {
	return func(c *config) { c.telOpts = append(c.telOpts, opts...) }
}

// WithLogger sets the log/slog logger for state changes and fallbacks. The
// default is slog.Default(). sluice never logs API keys or prompt text.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}
