package bench

import (
	"net/http"

	"github.com/sluicehq/sluice/telemetry"
	"github.com/sluicehq/sluice/transport"
)

// transport.Attempt alone, with the given telemetry providers. bench/run.sh sets
// the sluice_attempt tag when transport.Attempt is on main.
func init() {
	layers[layerAttempt] = func(next http.RoundTripper, tel Telemetry) http.RoundTripper {
		return transport.Attempt(next, transport.WithTelemetry(
			telemetry.WithTracerProvider(tel.Tracer), telemetry.WithMeterProvider(tel.Meter)))
	}
}
