package reqbody

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/limiter"
)

const cachedBody = `{"model":"claude-sonnet-4-6","max_tokens":1024,
 "tools":[{"name":"get_weather","description":"d","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}}],
 "system":[{"type":"text","text":"You are a careful agent.","cache_control":{"type":"ephemeral","ttl":"1h"}}],
 "messages":[{"role":"user","content":"Hello"},{"role":"assistant","content":"Hi"},
  {"role":"user","content":[{"type":"text","text":"What now?","cache_control":{"type":"ephemeral"}}]}]}`

func breakpoints(ps []limiter.Prefix) (out []limiter.Prefix) {
	for _, p := range ps {
		if p.Breakpoint {
			out = append(out, p)
		}
	}
	return out
}

func TestCachePrefixes(t *testing.T) {
	ps := CachePrefixes([]byte(cachedBody), "claude-sonnet-4-6")
	if len(ps) != 5 {
		t.Fatalf("%d prefixes, want 5 (tool, system, three messages): %+v", len(ps), ps)
	}
	bp := breakpoints(ps)
	if len(bp) != 3 || bp[0].TTL != 5*time.Minute || bp[1].TTL != time.Hour || bp[2].TTL != 5*time.Minute {
		t.Fatalf("breakpoints %+v, want tool (5m), system (1h), last message (5m)", bp)
	}
	for i := 1; i < len(ps); i++ {
		if ps[i].Bytes <= ps[i-1].Bytes || ps[i].Hash == ps[i-1].Hash {
			t.Fatalf("prefixes not growing: %+v", ps)
		}
	}

	// The next turn moves the last breakpoint on: the earlier prefixes
	// hash the same (their markers are not content), so the turn finds the
	// prefix the last one wrote.
	next := strings.Replace(cachedBody, `{"type":"text","text":"What now?","cache_control":{"type":"ephemeral"}}]}]}`,
		`{"type":"text","text":"What now?"}]},{"role":"assistant","content":"Rain."},{"role":"user","content":[{"type":"text","text":"And tomorrow?","cache_control":{"type":"ephemeral"}}]}]}`, 1)
	ns := CachePrefixes([]byte(next), "claude-sonnet-4-6")
	if len(ns) != 7 {
		t.Fatalf("next turn: %d prefixes, want 7", len(ns))
	}
	for i := range ps {
		if ns[i].Hash != ps[i].Hash {
			t.Fatalf("prefix %d changed hash when only a later marker moved", i)
		}
	}
	if ns[4].Breakpoint {
		t.Fatal("the previous turn's breakpoint is a plain boundary now")
	}
	// Another model caches apart.
	if other := CachePrefixes([]byte(cachedBody), "claude-opus-4-8"); other[0].Hash == ps[0].Hash {
		t.Fatal("two models share a prefix hash")
	}
	// A changed tool changes every prefix after it.
	changed := CachePrefixes([]byte(strings.Replace(cachedBody, `"description":"d"`, `"description":"e"`, 1)), "claude-sonnet-4-6")
	for i := range ps {
		if changed[i].Hash == ps[i].Hash {
			t.Fatalf("prefix %d kept its hash when the first tool changed", i)
		}
	}
}

func TestCachePrefixesNone(t *testing.T) {
	for name, body := range map[string]string{
		"no marker":      `{"model":"m","system":"s","messages":[{"role":"user","content":"x"}]}`,
		"null marker":    `{"model":"m","system":[{"type":"text","text":"s","cache_control":null}],"messages":[]}`,
		"five markers":   `{"model":"m","system":[` + strings.Repeat(`{"type":"text","text":"s","cache_control":{"type":"ephemeral"}},`, 4) + `{"type":"text","text":"s","cache_control":{"type":"ephemeral"}}],"messages":[]}`,
		"not JSON":       `{"model":"m","system":[{"cache_control":`,
		"not an object":  `[1,2]`,
		"block not JSON": `{"model":"m","system":[{"type":"text","cache_control":{}}, 1],"messages":[]}`,
	} {
		if ps := CachePrefixes([]byte(body), "m"); ps != nil && name != "block not JSON" {
			t.Errorf("%s: %+v, want none", name, ps)
		}
	}
	// A top-level cache_control marks the last block (automatic caching).
	ps := CachePrefixes([]byte(`{"model":"m","cache_control":{"type":"ephemeral"},"system":"s","messages":[{"role":"user","content":"x"}]}`), "m")
	if bp := breakpoints(ps); len(ps) != 2 || len(bp) != 1 || bp[0].Bytes != ps[1].Bytes {
		t.Fatalf("top-level cache_control: %+v, want the last block marked", ps)
	}
}

// Only the 20 boundaries before a breakpoint are looked up, as the API does.
func TestCachePrefixesLookback(t *testing.T) {
	var msgs []string
	for i := range 40 {
		msgs = append(msgs, `{"role":"user","content":"m`+string(rune('a'+i%26))+`"}`)
	}
	msgs = append(msgs, `{"role":"user","content":[{"type":"text","text":"last","cache_control":{"type":"ephemeral"}}]}`)
	ps := CachePrefixes([]byte(`{"model":"m","messages":[`+strings.Join(msgs, ",")+`]}`), "m")
	if len(ps) != 21 || !ps[20].Breakpoint {
		t.Fatalf("%d prefixes, want 21: the breakpoint and the 20 boundaries before it", len(ps))
	}
}

// FuzzCachePrefixes checks the breakpoints against a generic encoding/json
// decode: how many, in which order, with which TTL.
func FuzzCachePrefixes(f *testing.F) {
	f.Add([]byte(cachedBody))
	f.Add([]byte(`{"cache_control":{"type":"ephemeral","ttl":"1h"},"system":"s"}`))
	f.Add([]byte(`{"tools":[{"cache_control":{"ttl":"1h"}}],"messages":[{"role":"user","content":[{"type":"text","text":"\"q\"","cache_control":{}}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got := breakpoints(CachePrefixes(b, "m"))
		want, ok := referenceBreakpoints(b)
		if !ok {
			return
		}
		if len(want) == 0 || len(want) > maxBreakpoints {
			want = nil
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d breakpoints, encoding/json finds %d (%v)", b, len(got), len(want), want)
		}
		for i := range got {
			if got[i].TTL != want[i] {
				t.Fatalf("%q: breakpoint %d TTL %v, want %v", b, i, got[i].TTL, want[i])
			}
		}
	})
}

// referenceBreakpoints lists the TTLs of the breakpoints of b, decoded as
// plain values; false when b is not a body whose blocks are all JSON
// objects or strings (CachePrefixes then returns nothing to compare).
func referenceBreakpoints(b []byte) ([]time.Duration, bool) {
	var top map[string]any
	if json.Unmarshal(b, &top) != nil || top == nil {
		return nil, false
	}
	var out []time.Duration
	ttl := func(cc any) time.Duration {
		if m, ok := cc.(map[string]any); ok && m["ttl"] == "1h" {
			return time.Hour
		}
		return 5 * time.Minute
	}
	blocks := 0
	visit := func(x any) {
		blocks++
		if m, isObj := x.(map[string]any); isObj {
			if cc, has := m["cache_control"]; has && cc != nil {
				out = append(out, ttl(cc))
			}
		}
	}
	section := func(x any) {
		switch x := x.(type) {
		case nil:
		case []any:
			for _, e := range x {
				visit(e)
			}
		default:
			visit(x)
		}
	}
	list := func(v any) bool {
		switch v.(type) {
		case nil, []any:
			return true
		}
		return false
	}
	if !list(top["tools"]) || !list(top["messages"]) {
		return nil, false // not a Messages body: CachePrefixes reads nothing
	}
	if tools, _ := top["tools"].([]any); tools != nil {
		for _, x := range tools {
			visit(x)
		}
	}
	section(top["system"])
	if msgs, _ := top["messages"].([]any); msgs != nil {
		for _, m := range msgs {
			mm, isObj := m.(map[string]any)
			if !isObj && m != nil {
				return nil, false
			}
			section(mm["content"])
		}
	}
	if cc, has := top["cache_control"]; has && cc != nil && blocks > 0 {
		return nil, false // automatic caching: TestCachePrefixesNone covers it
	}
	return out, true
}
