package transport

// retryConfig holds the settings of the retry layer. (Placeholder: the retry
// layer's issue replaces this file.)
type retryConfig struct{}

func defaultRetryConfig() retryConfig { return retryConfig{} }
