package bench

import (
	"net/http"

	"github.com/sluicehq/sluice/telemetry"
	"github.com/sluicehq/sluice/transport"
)

// transport.Limit alone, with the given telemetry providers. bench/run.sh sets
// the sluice_limit tag when transport.Limit is on main.
func init() {
	layers[layerLimit] = func(next http.RoundTripper, tel Telemetry) http.RoundTripper {
		return transport.Limit(next, transport.LimitSettings{}, transport.WithTelemetry(
			telemetry.WithTracerProvider(tel.Tracer), telemetry.WithMeterProvider(tel.Meter)))
	}
}
