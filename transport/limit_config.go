package transport

import (
	"net/http"

	"github.com/sluicehq/sluice/limiter"
)

// LimitSettings configure the limit layer. The zero value is the layer New
// builds: a limiter of its own with limits learned from the providers'
// rate-limit headers, requests grouped by API key and model class.
type LimitSettings struct {
	// Limiter is the limiter the layer admits requests through. Share one
	// between the stacks or clients that spend one quota, and configure
	// explicit limits, the window, concurrency or a shared Store on it
	// (limiter.New's options); its maker closes it. nil: New builds
	// limiter.New() and Transport.Close closes it; the Limit constructor
	// builds one that nothing closes.
	Limiter *limiter.Limiter
	// Key groups requests under one set of limits. Default: the API key's
	// fingerprint plus the model's class (ModelClass), because the
	// providers limit per model and some models share one limit. The key
	// appears in telemetry (sluice.key): it must never contain an API key
	// itself; use provider fingerprints. Key must not consume r.Body.
	Key func(r *http.Request, body RequestFields) string
}

// limiter returns the layer's limiter — the one in the settings, or a new
// one with the defaults — and whether it is new, so that its maker owns it
// and closes it. Limit and New both build their limiter here.
func (s LimitSettings) limiter() (l *limiter.Limiter, owned bool) {
	if s.Limiter != nil {
		return s.Limiter, false
	}
	return limiter.New(), true
}
