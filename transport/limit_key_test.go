package transport

import (
	"net/http"
	"testing"

	"github.com/sluicehq/sluice/internal/provider"
	"github.com/sluicehq/sluice/internal/reqbody"
)

// The remembered key is the fingerprint of the request's API key and its
// model, whatever was asked before: a cache hit must never hand one API
// key's limits to another.
func TestLimitKeysRemembered(t *testing.T) {
	k := newLimitKeys()
	cases := []struct {
		name   string
		header map[string]string
		model  string
	}{
		{"x-api-key", map[string]string{"x-api-key": "sk-ant-one"}, "claude-a"},
		{"x-api-key other model", map[string]string{"x-api-key": "sk-ant-one"}, "claude-b"},
		{"other x-api-key", map[string]string{"x-api-key": "sk-ant-two"}, "claude-a"},
		{"bearer", map[string]string{"Authorization": "Bearer sk-proj-one"}, "gpt-x"},
		{"bearer same key as x-api-key", map[string]string{"Authorization": "Bearer sk-ant-one"}, "claude-a"},
		{"not a bearer token", map[string]string{"Authorization": "Basic abc"}, "gpt-x"},
		{"no key", nil, "claude-a"},
		{"no key no model", nil, ""},
	}
	for round := range 2 { // the second round is answered from the cache
		for _, tc := range cases {
			h := http.Header{}
			for n, v := range tc.header {
				h.Set(n, v)
			}
			fp := provider.KeyFingerprint(h)
			if fp == "" {
				fp = "nokey"
			}
			want := fp + "/" + tc.model
			if got := k.key(&http.Request{Header: h}, reqbody.Fields{Model: tc.model}); got != want {
				t.Errorf("round %d, %s: key %q, want %q", round, tc.name, got, want)
			}
		}
	}
	// One key sent as x-api-key or as a bearer token is one entry.
	if n := k.m.Len(); n != len(cases)-1 {
		t.Errorf("%d entries, want %d", n, len(cases)-1)
	}
}

// Past maxLimitKeys the keys are still right, just not remembered.
func TestLimitKeysBounded(t *testing.T) {
	k := newLimitKeys()
	h := http.Header{"X-Api-Key": {"sk-ant-one"}}
	for i := range maxLimitKeys + 10 {
		model := "m" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676))
		if got, want := k.key(&http.Request{Header: h}, reqbody.Fields{Model: model}), limitKeyOf("sk-ant-one", model); got != want {
			t.Fatalf("key %q, want %q", got, want)
		}
	}
	if k.m.Len() != maxLimitKeys {
		t.Fatalf("%d entries, want the bound %d", k.m.Len(), maxLimitKeys)
	}
}
