package transport

import "net/http"

// hostModel is the default breaker key of a request: its host and the
// model its body names.
type hostModel struct{ host, model string }

func hostModelOf(req *http.Request) hostModel {
	return hostModel{host: req.URL.Host, model: requestFields(req).Model}
}

// key is the key's string form, as telemetry shows it: "api.anthropic.com
// claude-sonnet-4-5", or the host alone when the body names no model.
func (k hostModel) key() string {
	if k.model != "" {
		return k.host + " " + k.model
	}
	return k.host
}

// maxBreakerIndex bounds the index by host and model; past it, entries
// are found by their string key as with BreakerSettings.Key.
const maxBreakerIndex = 1024

// entryOf returns the breaker of req. With the default key the entry is
// found by host and model in a lock-free index: building "host model" for
// every attempt was an allocation and a second hash of the same bytes, and
// the lock around the entries map a point every call went through.
func (b *breakerTransport) entryOf(req *http.Request) *breakerEntry {
	if b.cfg.Key != nil {
		return b.entry(b.cfg.Key(req, exportFields(requestFields(req))), true)
	}
	hm := hostModelOf(req)
	return b.byHostModel.Get(hm, func() *breakerEntry { return b.entry(hm.key(), false) })
}
