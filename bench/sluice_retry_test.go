package bench

import (
	"net/http"

	"github.com/sluicehq/sluice/telemetry"
	"github.com/sluicehq/sluice/transport"
)

// transport.Retry alone, with the given telemetry providers. bench/run.sh sets
// the sluice_retry tag when transport.Retry is on main.
func init() {
	layers[layerRetry] = func(next http.RoundTripper, tel Telemetry) http.RoundTripper {
		return transport.Retry(next, transport.RetrySettings{}, transport.WithTelemetry(
			telemetry.WithTracerProvider(tel.Tracer), telemetry.WithMeterProvider(tel.Meter)))
	}
}
