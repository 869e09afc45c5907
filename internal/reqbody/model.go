package reqbody

import (
	"github.com/sluicehq/sluice/internal/readmostly"
	"github.com/sluicehq/sluice/internal/validutf8"
)

// maxModels bounds the model names kept: they come from request bodies, so
// their number is the application's to choose. Past the bound, every
// request allocates its model name, as it did before the table.
const maxModels = 256

// models maps the raw bytes of the model names seen so far to their
// strings. An application uses a handful of models, and every request
// names one: looking the name up (a lookup keyed by string(b) does not
// allocate) saves the string's allocation and the UTF-8 repair's scan.
var models = readmostly.New[string, string](maxModels)

// modelName returns the model name b repaired as the response's model is
// (validutf8.String: each invalid byte becomes U+FFFD): the model becomes
// a telemetry attribute, and OTLP rejects invalid UTF-8.
func modelName(b []byte) string {
	if s, ok := models.Load(string(b)); ok {
		return s
	}
	return models.Get(string(b), func() string { return validutf8.String(b) })
}
