package transport

// limitConfig holds the settings of the limit layer. (Placeholder: the limit
// layer's issue replaces this file.)
type limitConfig struct{}

func defaultLimitConfig() limitConfig { return limitConfig{} }
