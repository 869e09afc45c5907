package llmtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// cc is a cache_control value; ttl "" is the default 5 minutes.
func cc(ttl string) map[string]any {
	if ttl == "" {
		return map[string]any{"type": "ephemeral"}
	}
	return map[string]any{"type": "ephemeral", "ttl": ttl}
}

// cachedBody is a Messages body whose system prompt is one text block
// marked with cache_control (ttl "" = 5 minutes) and one user message.
func cachedBody(model, system, ttl, user string, maxTokens int, stream bool) []byte {
	b, _ := json.Marshal(map[string]any{
		"model": model, "max_tokens": maxTokens, "stream": stream,
		"system":   []any{map[string]any{"type": "text", "text": system, "cache_control": cc(ttl)}},
		"messages": []any{map[string]any{"role": "user", "content": user}},
	})
	return b
}

type usage struct {
	InputTokens              int `json:"input_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheCreation            struct {
		Ephemeral5m int `json:"ephemeral_5m_input_tokens"`
		Ephemeral1h int `json:"ephemeral_1h_input_tokens"`
	} `json:"cache_creation"`
}

// usageOf posts body and returns the usage of its 200 response.
func usageOf(t *testing.T, s *testServer, key string, body []byte) usage {
	t.Helper()
	res, b := post(t, s, "/v1/messages", key, body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, b)
	}
	var m struct{ Usage usage }
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m.Usage
}

// check compares the cache part of a usage.
func check(t *testing.T, what string, u usage, read, creation, input int) {
	t.Helper()
	if u.CacheReadInputTokens != read || u.CacheCreationInputTokens != creation || u.InputTokens != input {
		t.Errorf("%s: usage read %d, creation %d, input %d; want %d, %d, %d", what,
			u.CacheReadInputTokens, u.CacheCreationInputTokens, u.InputTokens, read, creation, input)
	}
}

// scaled compresses the cache TTLs: 5 minutes become one second, an hour 12.
func scaled(d time.Duration) time.Duration { return d / 300 }

// A prefix is read while its TTL (compressed to 1 s) lasts, every read
// refreshes it, and it is gone at the instant the TTL ends.
func TestPromptCacheWriteReadExpire(t *testing.T) {
	synctest.Test(t, testPromptCacheWriteReadExpire)
}

func testPromptCacheWriteReadExpire(t *testing.T) {
	s := newPipeServer(t, Config{CacheTTL: scaled})
	system := strings.Repeat("s", 8000)                                      // 2000 tokens
	body := cachedBody("claude-test", system, "", "hello there!", 10, false) // + 3 tokens
	u := usageOf(t, s, "k", body)
	check(t, "first call writes", u, 0, 2000, 3)
	if u.CacheCreation.Ephemeral5m != 2000 || u.CacheCreation.Ephemeral1h != 0 {
		t.Errorf("cache_creation = %+v", u.CacheCreation)
	}
	check(t, "second call reads", usageOf(t, s, "k", body), 2000, 0, 3)
	check(t, "another key has its own cache", usageOf(t, s, "other", body), 0, 2000, 3)
	check(t, "another model has its own cache", usageOf(t, s, "k", cachedBody("claude-other", system, "", "hello there!", 10, false)), 0, 2000, 3)
	// A different question after the same prompt still reads the prompt.
	check(t, "other message", usageOf(t, s, "k", cachedBody("claude-test", system, "", strings.Repeat("q", 40), 10, false)), 2000, 0, 10)

	// Reads refresh the TTL (1s here): a read at its last nanosecond keeps
	// it alive for another second.
	for i := range 2 {
		time.Sleep(time.Second - time.Nanosecond)
		check(t, fmt.Sprintf("read %d after refresh", i), usageOf(t, s, "k", body), 2000, 0, 3)
	}
	// A stream reports the same usage.
	res, b := post(t, s, "/v1/messages", "k", cachedBody("claude-test", system, "", "hello there!", 10, true))
	names, data := sseEvents(t, b)
	if res.StatusCode != 200 || len(names) < 2 || !strings.Contains(data[0], `"cache_read_input_tokens":2000`) ||
		!strings.Contains(data[len(data)-2], `"cache_read_input_tokens":2000`) {
		t.Errorf("stream usage: %d %s", res.StatusCode, b)
	}
	// One TTL after the last read the prefix is gone and written again.
	time.Sleep(time.Second)
	check(t, "after expiry", usageOf(t, s, "k", body), 0, 2000, 3)

	st := s.Stats()
	if st.CacheReadTokens != 5*2000 || st.CacheCreationTokens != 4*2000 || st.InputTokens != 8*3+10 {
		t.Errorf("stats read %d, creation %d, input %d", st.CacheReadTokens, st.CacheCreationTokens, st.InputTokens)
	}
}

// A 1h prefix (12 s here) outlives a 5m one (1 s), which is gone exactly
// at its end.
func TestPromptCache1hTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newPipeServer(t, Config{CacheTTL: scaled}) // 5m → 1s, 1h → 12s
		long := cachedBody("claude-test", strings.Repeat("l", 8000), "1h", "hi", 10, false)
		short := cachedBody("claude-test", strings.Repeat("s", 8000), "5m", "hi", 10, false)
		u := usageOf(t, s, "k", long)
		check(t, "1h write", u, 0, 2000, 1)
		if u.CacheCreation.Ephemeral1h != 2000 || u.CacheCreation.Ephemeral5m != 0 {
			t.Errorf("cache_creation = %+v, want 2000 in ephemeral_1h", u.CacheCreation)
		}
		check(t, "5m write", usageOf(t, s, "k", short), 0, 2000, 1)
		time.Sleep(time.Second)
		check(t, "1h still read", usageOf(t, s, "k", long), 2000, 0, 1)
		check(t, "5m expired", usageOf(t, s, "k", short), 0, 2000, 1)
		time.Sleep(12*time.Second - time.Nanosecond)
		check(t, "1h read at the last nanosecond", usageOf(t, s, "k", long), 2000, 0, 1)
		time.Sleep(12 * time.Second)
		check(t, "1h expired", usageOf(t, s, "k", long), 0, 2000, 1)
	})
}

func TestPromptCacheBreakpoints(t *testing.T) {
	s := newTestServer(t, Config{})
	block := func(text string, mark bool) map[string]any {
		b := map[string]any{"type": "text", "text": text}
		if mark {
			b["cache_control"] = cc("")
		}
		return b
	}
	tool := map[string]any{"name": "lookup", "description": strings.Repeat("d", 4400),
		"input_schema": map[string]any{"type": "object"}, "cache_control": cc("")}
	sys := strings.Repeat("s", 8000) // 2000 tokens
	msg := strings.Repeat("m", 8000) // 2000 tokens
	body := func(n int, question string) []byte {
		// n breakpoints: the tool, the system block, then message blocks.
		var content []any
		for i := 2; i < n; i++ {
			content = append(content, block(msg, true))
		}
		content = append(content, block(question, false))
		b, _ := json.Marshal(map[string]any{"model": "claude-test", "max_tokens": 10,
			"tools":    []any{tool},
			"system":   []any{block(sys, true)},
			"messages": []any{map[string]any{"role": "user", "content": content}}})
		return b
	}
	// More than four breakpoints is refused.
	res, b := post(t, s, "/v1/messages", "k", body(5, "q"))
	var e struct {
		Error struct{ Type, Message string }
	}
	_ = json.Unmarshal(b, &e)
	if res.StatusCode != 400 || e.Error.Type != "invalid_request_error" || !strings.Contains(e.Error.Message, "A maximum of 4 blocks with cache_control") {
		t.Errorf("5 breakpoints: %d %s", res.StatusCode, b)
	}
	bad := []byte(`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"x","cache_control":{"type":"ephemeral","ttl":"2h"}}]}]}`)
	if res, b := post(t, s, "/v1/messages", "k", bad); res.StatusCode != 400 {
		t.Errorf("ttl 2h: %d %s", res.StatusCode, b)
	}

	// Four breakpoints: tool, system and two message blocks. The tool
	// counts its JSON without cache_control.
	toolJSON, _ := json.Marshal(map[string]any{"name": "lookup", "description": strings.Repeat("d", 4400), "input_schema": map[string]any{"type": "object"}})
	toolBytes := len(toolJSON)
	_, b = post(t, s, "/v1/messages/count_tokens", "k", body(4, "question"))
	var ct struct {
		InputTokens int `json:"input_tokens"`
	}
	_ = json.Unmarshal(b, &ct)
	total := ct.InputTokens
	if want := (toolBytes + 8000*3 + 8 + 3) / 4; total != want {
		t.Fatalf("count_tokens = %d, want %d", total, want)
	}
	last := (toolBytes + 8000*3 + 3) / 4 // prefix at the last breakpoint
	check(t, "first call writes all", usageOf(t, s, "k", body(4, "question")), 0, last, total-last)
	// Same tools and system, different messages: the system prefix is
	// read, the rest up to the last breakpoint written.
	sysPrefix := (toolBytes + 8000 + 3) / 4
	other := func(q string) []byte {
		b, _ := json.Marshal(map[string]any{"model": "claude-test", "max_tokens": 10,
			"tools":  []any{tool},
			"system": []any{block(sys, true)},
			"messages": []any{map[string]any{"role": "user", "content": []any{
				block(strings.Repeat("o", 8000), true), block(q, false)}}}})
		return b
	}
	lastOther := (toolBytes + 16000 + 3) / 4
	check(t, "shared prefix read", usageOf(t, s, "k", other("question")), sysPrefix, lastOther-sysPrefix, (toolBytes+16008+3)/4-lastOther)
	// Moving the breakpoint later keeps the earlier prefix readable: a
	// block's identity does not include its cache_control.
	moved, _ := json.Marshal(map[string]any{"model": "claude-test", "max_tokens": 10,
		"tools":  []any{tool},
		"system": []any{block(sys, false)},
		"messages": []any{map[string]any{"role": "user", "content": []any{
			block(strings.Repeat("o", 8000), false), block("question", true)}}}})
	check(t, "moved breakpoint", usageOf(t, s, "k", moved), lastOther, (toolBytes+16008+3)/4-lastOther, 0)
}

func TestPromptCacheMinimum(t *testing.T) {
	s := newTestServer(t, Config{})
	body := cachedBody("claude-test", strings.Repeat("s", 4000), "", "hi", 10, false) // 1000 tokens < 1024
	check(t, "short prefix not written", usageOf(t, s, "k", body), 0, 0, 1001)
	check(t, "short prefix not read", usageOf(t, s, "k", body), 0, 0, 1001)

	s = newTestServer(t, Config{CacheMinTokens: 2000})
	body = cachedBody("claude-test", strings.Repeat("s", 6000), "", "hi", 10, false) // 1500 tokens
	check(t, "under a configured minimum", usageOf(t, s, "k", body), 0, 0, 1501)

	s = newTestServer(t, Config{CacheMinTokens: -1})
	body = cachedBody("claude-test", "tiny", "", "hi", 10, false)
	check(t, "no minimum: written", usageOf(t, s, "k", body), 0, 1, 1)
	check(t, "no minimum: read", usageOf(t, s, "k", body), 1, 0, 1)
}

// TestITPMCacheReads: cache reads do not count towards ITPM, so a 20 000
// token cached system prompt under an ITPM of 30 000 admits call after
// call once cached; Claude Haiku 3.5 counts them and is refused.
func TestITPMCacheReads(t *testing.T) {
	s := newTestServer(t, Config{Quota: Quota{InputTokens: 30000}, ExactHeaders: true})
	system := strings.Repeat("s", 80000) // 20 000 tokens
	user := strings.Repeat("u", 400)     // 100 tokens
	for i := range 20 {
		res, b := post(t, s, "/v1/messages", "k", cachedBody("claude-sonnet-4-5", system, "", user, 10, false))
		if res.StatusCode != 200 {
			t.Fatalf("call %d: %d %s", i, res.StatusCode, b)
		}
		if i == 0 {
			if v := res.Header.Get("anthropic-ratelimit-input-tokens-remaining"); v != "9900" {
				t.Errorf("after the write: input remaining %s, want 9900", v)
			}
		}
	}
	if st := s.Stats(); st.CacheReadTokens != 19*20000 || st.CacheCreationTokens != 20000 || st.InputTokens != 20*100 {
		t.Errorf("stats %+v", st)
	}
	haiku := "claude-3-5-haiku-20241022"
	if res, b := post(t, s, "/v1/messages", "k", cachedBody(haiku, system, "", user, 10, false)); res.StatusCode != 200 {
		t.Fatalf("haiku write: %d %s", res.StatusCode, b)
	}
	res, _ := post(t, s, "/v1/messages", "k", cachedBody(haiku, system, "", user, 10, false))
	if res.StatusCode != 429 {
		t.Errorf("haiku read of 20 000 with 9 900 left: %d, want 429", res.StatusCode)
	}
	// The switch is per model and configurable.
	s = newTestServer(t, Config{Quota: Quota{InputTokens: 30000}, CountsCacheReads: func(string) bool { return true }})
	post(t, s, "/v1/messages", "k", cachedBody("claude-sonnet-4-5", system, "", user, 10, false))
	if res, _ := post(t, s, "/v1/messages", "k", cachedBody("claude-sonnet-4-5", system, "", user, 10, false)); res.StatusCode != 429 {
		t.Errorf("CountsCacheReads true: %d, want 429", res.StatusCode)
	}
}
