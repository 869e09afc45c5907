package bench

import (
	"net/http"

	"github.com/sluicehq/sluice/telemetry"
	"github.com/sluicehq/sluice/transport"
)

// transport.Meter alone, with the given telemetry providers. bench/run.sh sets
// the sluice_meter tag when transport.Meter is on main.
func init() {
	layers[layerMeter] = func(next http.RoundTripper, tel Telemetry) http.RoundTripper {
		return transport.Meter(next, transport.MeterSettings{}, transport.WithTelemetry(
			telemetry.WithTracerProvider(tel.Tracer), telemetry.WithMeterProvider(tel.Meter)))
	}
}
