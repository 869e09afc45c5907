package transport

import (
	"hash/maphash"
	"net/http"

	"github.com/sluicehq/sluice/internal/provider"
	"github.com/sluicehq/sluice/internal/readmostly"
	"github.com/sluicehq/sluice/internal/reqbody"
)

// limitKeyOf is the default limit key: the API key's fingerprint and the
// model's class, "<16 hex digits>/<class>" ("nokey/<class>" without a key).
// Models whose provider counts them against one limit share one set of
// buckets (ModelClass).
func limitKeyOf(apiKey, model string) string {
	fp := "nokey"
	if apiKey != "" {
		fp = provider.Fingerprint(apiKey)
	}
	return fp + "/" + ModelClass(model)
}

// ModelClass returns the name of the rate limit a model shares with others
// at its provider, or the model itself when it has its own: the default
// limit key groups the models of one class under one set of buckets. The
// classes are Anthropic's documented ones: every Claude Opus 4.x model
// counts against one limit ("claude-opus-4"), Claude Sonnet 4.5 and 4.6
// against another ("claude-sonnet-4.x"). To group otherwise, set
// LimitSettings.Key.
func ModelClass(model string) string { return provider.ModelClass(model) }

// limitKeys computes the default limit key and remembers it per API key and model.
// Every attempt needs its key, and computing it — a SHA-256 of the API key,
// its hex encoding and a concatenation, 3 allocations — was a tenth of the
// limit layer's own CPU time per call on the overhead benchmark.
//
// The cache never holds an API key: it is indexed by a 64-bit maphash of
// the key, seeded at random per process (and the value is the key's
// SHA-256 fingerprint, which telemetry shows anyway). Two keys would have
// to collide on both the maphash and nothing else to share an entry; at
// 2⁻⁶⁴ per pair that is less likely than the 8-byte fingerprint's own
// collisions, which the limiter has always accepted.
type limitKeys struct {
	seed maphash.Seed
	m    *readmostly.Map[limitKeyID, string]
}

// limitKeyID indexes limitKeys.
type limitKeyID struct {
	key    uint64 // maphash of the API key; 0 with hasKey false when none
	hasKey bool
	model  string
}

// maxLimitKeys bounds the cache: API keys and models come from requests,
// so their number is the application's to choose. Past the bound, keys are
// computed on every call, as without the cache.
const maxLimitKeys = 1024

func newLimitKeys() *limitKeys {
	return &limitKeys{seed: maphash.MakeSeed(), m: readmostly.New[limitKeyID, string](maxLimitKeys)}
}

// key returns the default limit key of r, remembered.
func (k *limitKeys) key(r *http.Request, f reqbody.Fields) string {
	apiKey := provider.APIKey(r.Header)
	id := limitKeyID{model: f.Model}
	if apiKey != "" {
		id.key, id.hasKey = maphash.String(k.seed, apiKey), true
	}
	return k.m.Get(id, func() string { return limitKeyOf(apiKey, f.Model) })
}
