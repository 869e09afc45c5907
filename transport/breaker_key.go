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

// entryOf returns the breaker of req. With the default key the entry is
// found by host and model directly: building "host model" for every
// attempt was an allocation and a second hash of the same bytes.
func (b *breakerTransport) entryOf(req *http.Request) *breakerEntry {
	if b.cfg.key != nil {
		return b.entry(b.cfg.key(req))
	}
	hm := hostModelOf(req)
	b.mu.Lock()
	e, ok := b.byHostModel[hm]
	b.mu.Unlock()
	if ok {
		return e
	}
	e = b.entry(hm.key())
	b.mu.Lock()
	b.byHostModel[hm] = e
	b.mu.Unlock()
	return e
}
