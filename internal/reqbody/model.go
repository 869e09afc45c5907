package reqbody

import (
	"maps"
	"strings"
	"sync"
	"sync/atomic"
)

// maxModels bounds the model names kept: they come from request bodies, so
// their number is the application's to choose. Past the bound, every
// request allocates its model name, as it did before the table.
const maxModels = 256

// models maps the raw bytes of the model names seen so far to their
// strings. An application uses a handful of models, and every request
// names one: looking the name up (a lookup keyed by string(b) does not
// allocate) saves the string's allocation and the UTF-8 repair's scan. The
// map is copy-on-write behind an atomic pointer, so reads take no lock.
var models = struct {
	m  atomic.Pointer[map[string]string]
	mu sync.Mutex // serialises writers
}{}

// modelName returns the model name b, with invalid UTF-8 runs replaced by
// U+FFFD: the model becomes a telemetry attribute, and OTLP rejects
// invalid UTF-8.
func modelName(b []byte) string {
	if m := models.m.Load(); m != nil {
		if s, ok := (*m)[string(b)]; ok {
			return s
		}
	}
	raw := string(b)
	s := strings.ToValidUTF8(raw, "\uFFFD")
	models.mu.Lock()
	defer models.mu.Unlock()
	var next map[string]string
	if m := models.m.Load(); m != nil {
		if len(*m) >= maxModels {
			return s
		}
		next = maps.Clone(*m)
	} else {
		next = make(map[string]string, 1)
	}
	next[raw] = s
	models.m.Store(&next)
	return s
}
