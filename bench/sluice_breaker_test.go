package bench

import (
	"net/http"

	"github.com/sluicehq/sluice/telemetry"
	"github.com/sluicehq/sluice/transport"
)

// transport.Breaker alone, with the given telemetry providers. bench/run.sh sets
// the sluice_breaker tag when transport.Breaker is on main.
func init() {
	layers[layerBreaker] = func(next http.RoundTripper, tel Telemetry) http.RoundTripper {
		return transport.Breaker(next, transport.BreakerSettings{}, transport.WithTelemetry(
			telemetry.WithTracerProvider(tel.Tracer), telemetry.WithMeterProvider(tel.Meter)))
	}
}
