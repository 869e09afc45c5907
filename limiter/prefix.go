package limiter

import "time"

// Prefix is a cacheable prefix of a request's prompt: for Anthropic, the
// body up to one of its cache_control breakpoints. The provider charges a
// prefix it has cached (a cache read) nothing against its input-tokens
// limit, so the limiter reserves only the part of the input it does not
// know to be cached (see Request.Prefixes).
type Prefix struct {
	// Hash identifies the prefix's content and the model: two requests
	// share a cached prefix when their hashes are equal.
	Hash uint64
	// Bytes is the prefix's size in the body.
	Bytes int64
	// TTL is how long the provider keeps the prefix after each use: 5
	// minutes, or an hour when asked. It is scaled by Window/time.Minute,
	// so a limiter whose window is compressed for a test keeps the
	// provider's proportions.
	TTL time.Duration
	// Breakpoint marks a prefix the provider writes to its cache (a block
	// with cache_control). The others are boundaries at which it looks
	// for a prefix written before: the limiter looks them all up and
	// learns only the breakpoints.
	Breakpoint bool
}

// maxPrefixes bounds the prefixes a key remembers: agents reuse a handful
// of system prompts, and a forgotten prefix costs only a full reservation.
const maxPrefixes = 64

// prefixEntry is a prefix the provider reported cached.
type prefixEntry struct {
	tokens  int64 // tokens up to the prefix's end, as the provider counted them
	expires int64 // monotonic ns since epoch
}

// cachedTokens returns the tokens of the longest of ps the key knows to be
// cached at mono. ks.mu must be held.
func (ks *keyState) cachedTokens(ps []Prefix, mono int64) int64 {
	for i := len(ps) - 1; i >= 0; i-- {
		if e, ok := ks.prefixes[ps[i].Hash]; ok && e.expires > mono {
			return e.tokens
		}
	}
	return 0
}

// learnPrefixes records what a response's usage says about the
// breakpoints of ps: cached (read or written) is the tokens up to the last
// breakpoint, which the provider has now cached; earlier breakpoints get
// their share by size.
// cached 0 means the provider cached nothing (a prefix below its minimum
// size, say), and the prefixes are forgotten: a wrong guess lasts one
// response. since is when the request was sent (monotonic ns): the
// provider's TTL started no earlier. ks.mu must be held.
func (l *Limiter) learnPrefixes(ks *keyState, ps []Prefix, cached, since int64) {
	if len(ps) == 0 {
		return
	}
	if cached <= 0 {
		for _, p := range ps {
			delete(ks.prefixes, p.Hash)
		}
		return
	}
	if ks.prefixes == nil {
		ks.prefixes = make(map[uint64]prefixEntry)
	}
	var last int64
	for _, p := range ps {
		if p.Breakpoint {
			last = p.Bytes
		}
	}
	for _, p := range ps {
		if !p.Breakpoint {
			continue
		}
		tokens := cached
		if last > 0 && p.Bytes < last {
			tokens = cached * p.Bytes / last
		}
		ttl := time.Duration(float64(p.TTL) * float64(l.pol.Window) / float64(time.Minute))
		if _, ok := ks.prefixes[p.Hash]; !ok && len(ks.prefixes) >= maxPrefixes {
			ks.evictPrefix(since)
		}
		ks.prefixes[p.Hash] = prefixEntry{tokens: tokens, expires: since + int64(ttl)}
	}
}

// evictPrefix drops the expired prefixes, or the one closest to expiry.
// ks.mu must be held.
func (ks *keyState) evictPrefix(mono int64) {
	var oldest uint64
	first := true
	for h, e := range ks.prefixes {
		if e.expires <= mono {
			delete(ks.prefixes, h)
			continue
		}
		if first || e.expires < ks.prefixes[oldest].expires {
			oldest, first = h, false
		}
	}
	if len(ks.prefixes) >= maxPrefixes {
		delete(ks.prefixes, oldest)
	}
}
