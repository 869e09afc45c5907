package llmtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash"
	"sync"
	"time"
)

// Prompt caching, as Anthropic documents it: a content block carrying
// cache_control — on a tool definition, a system text block or a block of a
// message's content — is a breakpoint. The cacheable prefix at a breakpoint
// is everything before it, in the order tools → system → messages, up to and
// including that block.

// maxBreakpoints is the API's limit of blocks with cache_control.
const maxBreakpoints = 4

// lookback is how many block boundaries, the breakpoint's own included,
// are checked for a cache hit at each breakpoint (the docs: about 20 blocks
// before it), so moving a breakpoint later still reads the earlier prefix.
const lookback = 20

// boundary is the prefix ending at one block.
type boundary struct {
	tokens int
	hash   [32]byte
}

// Cache TTLs of cache_control: the default, and "ttl": "1h".
const (
	ttl5m = 5 * time.Minute
	ttl1h = time.Hour
)

// breakpoint is one cache_control block: the prefix up to and including it.
type breakpoint struct {
	idx    int      // of its block in the request's boundaries
	tokens int      // CountTokens of the prefix
	hash   [32]byte // of the prefix, without cache_control markers
	ttl    time.Duration
}

// cacheUse is what the cache made of a request's breakpoints.
type cacheUse struct {
	read     int // cache_read_input_tokens: the longest prefix hit
	creation int // cache_creation_input_tokens: read end to last breakpoint
	// creation split by the TTL of the breakpoint each part ends at.
	creation5m, creation1h int
}

// cacheControl is the value of a cache_control field.
type cacheControl struct {
	Type string `json:"type"`
	TTL  string `json:"ttl"`
}

func (cc cacheControl) ttl() (time.Duration, error) {
	if cc.Type != "ephemeral" {
		return 0, fmt.Errorf("%w: cache_control.type: Input should be 'ephemeral'", errBadRequest)
	}
	switch cc.TTL {
	case "", "5m":
		return ttl5m, nil
	case "1h":
		return ttl1h, nil
	}
	return 0, fmt.Errorf("%w: cache_control.ttl: Input should be '5m' or '1h'", errBadRequest)
}

// prompt walks a request's blocks in cache order, keeping the running byte
// count and hash.
type prompt struct {
	n      int // counted bytes so far
	h      hash.Hash
	bps    []breakpoint
	bounds []boundary
	all    int // breakpoints seen, including past the limit
}

// add feeds one block: canon identifies it (without cache_control), counted
// is the bytes it counts, cc its cache_control if any.
func (p *prompt) add(canon []byte, counted int, cc json.RawMessage) error {
	var l [8]byte
	binary.BigEndian.PutUint64(l[:], uint64(len(canon)))
	p.h.Write(l[:])
	p.h.Write(canon)
	p.n += counted
	bd := boundary{tokens: (p.n + 3) / 4}
	copy(bd.hash[:], p.h.Sum(nil))
	p.bounds = append(p.bounds, bd)
	if cc == nil || string(cc) == "null" {
		return nil
	}
	var c cacheControl
	if err := json.Unmarshal(cc, &c); err != nil {
		return fmt.Errorf("%w: cache_control: %v", errBadRequest, err)
	}
	ttl, err := c.ttl()
	if err != nil {
		return err
	}
	p.all++
	p.bps = append(p.bps, breakpoint{idx: len(p.bounds) - 1, tokens: bd.tokens, hash: bd.hash, ttl: ttl})
	return nil
}

// block splits a content block into its identity without cache_control and
// its cache_control.
func block(raw json.RawMessage) (fields map[string]json.RawMessage, canon []byte, cc json.RawMessage, err error) {
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: content block: %v", errBadRequest, err)
	}
	cc = fields["cache_control"]
	delete(fields, "cache_control")
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(fields); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: content block: %v", errBadRequest, err)
	}
	return fields, buf.Bytes(), cc, nil
}

// toolBytes is what a tool definition counts: its JSON without
// cache_control (never more than it takes in the body).
func toolBytes(raw json.RawMessage) int {
	_, canon, _, err := block(raw)
	if err != nil {
		return 0
	}
	return min(len(canon)-1, len(raw)) // Encode adds a newline
}

// textBytes is what a content block counts: the text of text blocks.
func textBytes(fields map[string]json.RawMessage) int {
	var typ, text string
	_ = json.Unmarshal(fields["type"], &typ)
	switch typ {
	case "text", "input_text", "output_text":
		_ = json.Unmarshal(fields["text"], &text)
	}
	return len(text)
}

// walkPrompt reads an Anthropic body's tools, system and messages in cache
// order and returns the counted bytes, the breakpoints and the prefix at
// every block boundary.
func walkPrompt(body []byte) (int, []breakpoint, []boundary, error) {
	var b struct {
		Tools    []json.RawMessage `json:"tools"`
		System   json.RawMessage   `json:"system"`
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return 0, nil, nil, fmt.Errorf("%w: %v", errBadRequest, err)
	}
	p := &prompt{h: sha256.New()}
	for _, t := range b.Tools {
		_, canon, cc, err := block(t)
		if err != nil {
			return 0, nil, nil, err
		}
		if err := p.add(append([]byte("tool:"), canon...), min(len(canon)-1, len(t)), cc); err != nil {
			return 0, nil, nil, err
		}
	}
	// blocks feeds a system or message content: a string or blocks.
	blocks := func(tag string, raw json.RawMessage) error {
		if len(raw) == 0 || string(raw) == "null" {
			return nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			return p.add(append([]byte(tag+"string:"), s...), len(s), nil)
		}
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return fmt.Errorf("%w: content: %v", errBadRequest, err)
		}
		for _, bl := range list {
			fields, canon, cc, err := block(bl)
			if err != nil {
				return err
			}
			if err := p.add(append([]byte(tag), canon...), textBytes(fields), cc); err != nil {
				return err
			}
		}
		return nil
	}
	if err := blocks("system:", b.System); err != nil {
		return 0, nil, nil, err
	}
	for _, m := range b.Messages {
		if err := blocks("message:"+m.Role+":", m.Content); err != nil {
			return 0, nil, nil, err
		}
	}
	if p.all > maxBreakpoints {
		return 0, nil, nil, fmt.Errorf("%w: A maximum of %d blocks with cache_control may be provided. Found %d", errBadRequest, maxBreakpoints, p.all)
	}
	return p.n, p.bps, p.bounds, nil
}

// promptCache is the server's prompt cache: prefix hashes per (API key,
// model) with their expiry. mu guards entries.
type promptCache struct {
	min int                               // Config.CacheMinTokens, resolved
	ttl func(time.Duration) time.Duration // Config.CacheTTL
	mu  sync.Mutex
	m   map[cacheKey]time.Time // → expiry
	ops int
}

type cacheKey struct {
	key, model string
	hash       [32]byte
}

// lookup is what bps would read and write at now, without changing the
// cache: the read is the longest cached prefix among the lookback
// boundaries of every breakpoint.
func (pc *promptCache) lookup(key, model string, bps []breakpoint, bounds []boundary, now time.Time) cacheUse {
	var u cacheUse
	valid := pc.valid(bps)
	if len(valid) == 0 {
		return u
	}
	pc.mu.Lock()
	for _, bp := range bps {
		for j := bp.idx; j >= 0 && j > bp.idx-lookback; j-- {
			b := bounds[j]
			if b.tokens <= u.read || b.tokens < pc.min || b.tokens == 0 {
				break // shorter ones cannot beat the read so far
			}
			if exp, ok := pc.m[cacheKey{key, model, b.hash}]; ok && now.Before(exp) {
				u.read = b.tokens
				break
			}
		}
	}
	pc.mu.Unlock()
	prev := u.read
	for _, bp := range valid {
		if bp.tokens <= prev {
			continue
		}
		part := bp.tokens - prev
		prev = bp.tokens
		if bp.ttl == ttl1h {
			u.creation1h += part
		} else {
			u.creation5m += part
		}
	}
	u.creation = u.creation5m + u.creation1h
	return u
}

// store writes (or refreshes) every cacheable prefix of bps at now.
func (pc *promptCache) store(key, model string, bps []breakpoint, now time.Time) {
	valid := pc.valid(bps)
	if len(valid) == 0 {
		return
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	for _, bp := range valid {
		k := cacheKey{key, model, bp.hash}
		if exp := now.Add(pc.ttl(bp.ttl)); exp.After(pc.m[k]) {
			pc.m[k] = exp
		}
	}
	if pc.ops++; pc.ops%1024 == 0 { // bound memory: forget expired prefixes
		for k, exp := range pc.m {
			if !now.Before(exp) {
				delete(pc.m, k)
			}
		}
	}
}

// valid are the breakpoints whose prefix is long enough to cache.
func (pc *promptCache) valid(bps []breakpoint) []breakpoint {
	var v []breakpoint
	for _, bp := range bps {
		if bp.tokens >= pc.min && bp.tokens > 0 {
			v = append(v, bp)
		}
	}
	return v
}
