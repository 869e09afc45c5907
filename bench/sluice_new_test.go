package bench

import (
	"cmp"
	"log/slog"
	"net/http"
	"time"

	"github.com/sluicehq/sluice/limiter"
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
		// The limiter is told the fake's quota window. Transport.Close
		// leaves a limiter passed in alone: it is closed with the set-up.
		lim := limiter.New(limiter.WithWindow(sc.window))
		bs := transport.BreakerSettings{}
		if sc.polly {
			bs = transport.PollyBreakerSettings()
		}
		if sc.outage {
			// The breaker's default window, break and maximum break
			// (transport/breaker_config.go), where bs leaves them zero.
			bs.Window = cmp.Or(bs.Window, 10*time.Second) / outageCompression
			bs.Break = cmp.Or(bs.Break, time.Second) / outageCompression
			bs.MaxBreak = cmp.Or(bs.MaxBreak, 10*time.Second) / outageCompression
		}
		t := transport.New(base, transport.WithLogger(slog.New(logs)),
			transport.WithLimit(transport.LimitSettings{Limiter: lim}), transport.WithBreaker(bs))
		if sc.closers != nil {
			*sc.closers = append(*sc.closers, t, lim)
		}
		return t
	}
}
