package transport

// breakerConfig holds the settings of the breaker layer. (Placeholder: the breaker
// layer's issue replaces this file.)
type breakerConfig struct{}

func defaultBreakerConfig() breakerConfig { return breakerConfig{} }
