package reqbody

import (
	"bytes"
	"encoding/json"
	"hash/fnv"
	"time"

	"github.com/sluicehq/sluice/limiter"
)

// Anthropic's prompt-caching rules that CachePrefixes follows.
const (
	// maxBreakpoints is the most cache_control breakpoints a request may
	// carry; the API refuses a request with more (400).
	maxBreakpoints = 4
	// lookback is how many block boundaries before a breakpoint the API
	// checks for a cached prefix, besides the breakpoint's own.
	lookback = 20
)

// CachePrefixes returns the cacheable prefixes of an Anthropic Messages
// request body for the limiter (limiter.Request.Prefixes), shortest first,
// or nil when the body asks for no caching or cannot be read.
//
// Anthropic caches the prompt in the order tools, system, messages, up to
// each block marked with cache_control (a breakpoint; a top-level
// cache_control marks the last block). A later request reads the longest
// prefix it shares with one written before, at a breakpoint or at any of
// the 20 block boundaries before one. So a Prefix is returned for every
// such boundary, its hash covering the model and every block up to it with
// the cache_control markers left out (moving a marker does not change the
// content); the breakpoints are the prefixes the API writes.
//
// It decodes the body with encoding/json: it runs only for a body that
// holds cache_control (Fields.CacheControl), and the hash must follow the
// structure, not the bytes.
func CachePrefixes(body []byte, model string) []limiter.Prefix {
	// Maps, not structs: encoding/json matches struct fields regardless
	// of case, and the API does not.
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return nil
	}
	var tools []json.RawMessage
	var msgs []map[string]json.RawMessage
	if json.Unmarshal(orNull(top["tools"]), &tools) != nil || json.Unmarshal(orNull(top["messages"]), &msgs) != nil {
		return nil
	}
	p := prefixer{h: fnv.New64a()}
	p.h.Write([]byte(model))
	for _, t := range tools {
		p.block('t', t)
	}
	p.section('s', top["system"])
	for _, m := range msgs {
		p.h.Write([]byte{'m'})
		p.h.Write(m["role"])
		p.section('c', m["content"])
	}
	if n := len(p.bounds); n > 0 && !isNull(top["cache_control"]) {
		p.bounds[n-1].Breakpoint = true
		p.bounds[n-1].TTL = ttlOf(top["cache_control"])
	}
	if p.bad {
		return nil
	}
	return p.result()
}

// prefixer hashes a request's blocks in order and records each boundary.
type prefixer struct {
	h interface {
		Write([]byte) (int, error)
		Sum64() uint64
	}
	bytes  int64
	bounds []limiter.Prefix // every block boundary; Breakpoint marks cache_control
	bad    bool             // a block that is not JSON
}

// section hashes system or a message's content: a string is one text
// block, an array a list of blocks.
func (p *prefixer) section(tag byte, raw json.RawMessage) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || isNull(raw) {
		return
	}
	if raw[0] != '[' {
		p.block(tag, raw)
		return
	}
	var blocks []json.RawMessage
	if json.Unmarshal(raw, &blocks) != nil {
		p.bad = true
		return
	}
	for _, b := range blocks {
		p.block(tag, b)
	}
}

// block hashes one block without its cache_control and records the
// boundary after it.
func (p *prefixer) block(tag byte, raw json.RawMessage) {
	raw = bytes.TrimSpace(raw)
	p.bytes += int64(len(raw))
	bound := limiter.Prefix{Bytes: p.bytes, TTL: 5 * time.Minute}
	canon := raw
	if len(raw) > 0 && raw[0] == '{' {
		var fields map[string]json.RawMessage
		if json.Unmarshal(raw, &fields) != nil {
			p.bad = true
			return
		}
		if cc, ok := fields["cache_control"]; ok {
			delete(fields, "cache_control")
			if !isNull(cc) {
				bound.Breakpoint, bound.TTL = true, ttlOf(cc)
			}
		}
		canon, _ = json.Marshal(fields) // sorted keys: the content, not its layout
	}
	p.h.Write([]byte{tag})
	p.h.Write(canon)
	bound.Hash = p.h.Sum64()
	p.bounds = append(p.bounds, bound)
}

// result keeps the boundaries within lookback of a breakpoint; none when
// there is no breakpoint, or more than the API accepts (it will refuse the
// request).
func (p *prefixer) result() []limiter.Prefix {
	n := 0
	keep := make([]bool, len(p.bounds))
	for i, b := range p.bounds {
		if !b.Breakpoint {
			continue
		}
		n++
		for j := max(0, i-lookback); j <= i; j++ {
			keep[j] = true
		}
	}
	if n == 0 || n > maxBreakpoints {
		return nil
	}
	out := make([]limiter.Prefix, 0, len(p.bounds))
	for i, b := range p.bounds {
		if keep[i] {
			out = append(out, b)
		}
	}
	return out
}

// ttlOf reads a cache_control object's ttl: "1h", or the default 5 minutes.
func ttlOf(cc json.RawMessage) time.Duration {
	var v map[string]json.RawMessage
	var ttl string
	if json.Unmarshal(cc, &v) == nil && json.Unmarshal(orNull(v["ttl"]), &ttl) == nil && ttl == "1h" {
		return time.Hour
	}
	return 5 * time.Minute
}

// orNull is raw, or null when absent.
func orNull(raw json.RawMessage) json.RawMessage {
	if raw == nil {
		return json.RawMessage("null")
	}
	return raw
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}
