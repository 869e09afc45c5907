package transport

// meterConfig holds the settings of the meter layer. (Placeholder: the meter
// layer's issue replaces this file.)
type meterConfig struct{}

func defaultMeterConfig() meterConfig { return meterConfig{} }
