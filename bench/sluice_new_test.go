package bench

import (
	"cmp"
	"log/slog"
	"net/http"

	"github.com/sluicehq/sluice/telemetry"
	"github.com/sluicehq/sluice/transport"
)

// transport.New, the full stack. bench/run.sh sets the sluice_new tag when
// it is on main.
func init() {
	layers[layerNew] = func(next http.RoundTripper, tel Telemetry) http.RoundTripper {
		return transport.New(next, transport.WithTelemetry(
			telemetry.WithTracerProvider(tel.Tracer), telemetry.WithMeterProvider(tel.Meter)))
	}
	goodputStack = func(base http.RoundTripper, sc scenario) http.RoundTripper {
		// Defaults, but for what a compressed scenario must say: the
		// quota window, and breaker timings shrunk like the outage.
		// Logs are dropped (or captured for the breaker's state changes)
		// to keep the benchmark output readable.
		logs := slog.Handler(slog.DiscardHandler)
		if sc.log != nil {
			logs = sc.log
		}
		opts := []transport.Option{transport.WithLogger(slog.New(logs)), sluiceWindow(sc.window)}
		bs := transport.BreakerSettings{}
		if sc.polly {
			bs = transport.PollyBreakerSettings()
		}
		if sc.outage {
			bs.Window = cmp.Or(bs.Window, transport.DefaultBreakerWindow) / outageCompression
			bs.Break = cmp.Or(bs.Break, transport.DefaultBreakerBreak) / outageCompression
			bs.MaxBreak = cmp.Or(bs.MaxBreak, transport.DefaultBreakerMaxBreak) / outageCompression
		}
		opts = append(opts, transport.WithBreakerSettings(bs))
		t := transport.New(base, opts...)
		if sc.closers != nil {
			*sc.closers = append(*sc.closers, t)
		}
		return t
	}
}
