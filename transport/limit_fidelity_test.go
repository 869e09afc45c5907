package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluicehq/sluice/limiter"
)

// cachedPromptBody is an Anthropic Messages body whose n-byte system prompt
// is marked for caching.
func cachedPromptBody(model string, n, maxTokens int) []byte {
	b, _ := json.Marshal(map[string]any{
		"model": model, "max_tokens": maxTokens,
		"system": []any{map[string]any{"type": "text", "text": strings.Repeat("rule ", n/5),
			"cache_control": map[string]any{"type": "ephemeral"}}},
		"messages": []any{map[string]any{"role": "user", "content": "What next?"}},
	})
	return b
}

// cachingHandler answers like Anthropic's prompt cache: the first call
// writes the cached prefix, later ones read it. It counts the calls.
func cachingHandler(prefixTokens int64, calls *atomic.Int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		read, write := prefixTokens, int64(0)
		if n == 1 {
			read, write = 0, prefixTokens
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-6","content":[{"type":"text","text":"ok"}],`+
			`"stop_reason":"end_turn","usage":{"input_tokens":10,"cache_creation_input_tokens":%d,"cache_read_input_tokens":%d,"output_tokens":5}}`, write, read)
	}
}

// limitOver serves h over in-memory connections, for a test in a synctest
// bubble, and returns its URL and a client through a Limit layer with l.
func limitOver(t *testing.T, h http.Handler, l *limiter.Limiter) (string, *http.Client) {
	t.Helper()
	pipe := newPipeServer(t, h)
	return pipe.URL, &http.Client{Transport: Limit(pipe.Transport(t), LimitSettings{Limiter: l})}
}

// A cached system prompt is not reserved again: with an input limit of
// 30 000 tokens an hour, calls carrying a 20 000-token cached prompt go
// through one after another, where reserving the prompt each time would
// hold the second call for most of the hour.
func TestLimitCachedPromptNotReserved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int64
		l := limiter.New(limiter.WithWindow(time.Hour), limiter.WithLimits(limiter.Limits{InputTokens: 30000}))
		defer l.Close()
		url, c := limitOver(t, cachingHandler(20000, &calls), l)
		body := cachedPromptBody("claude-sonnet-4-6", 80000, 16000)
		start := time.Now()
		for i := range 10 {
			if code, err := limitCall(context.Background(), c, url, body); code != 200 || err != nil {
				t.Fatalf("call %d: %d %v", i, code, err)
			}
		}
		if el := time.Since(start); el != 0 {
			t.Fatalf("10 calls took %v, want no wait (the cached prompt was reserved again?)", el)
		}
		// The server counted 20 010 for the first call and 10 for each
		// other.
		if used := l.StatsFor(limitKeyFor("claude-sonnet-4.x")).Used[limiter.InputTokens]; used != 20100 {
			t.Fatalf("input used %v, want 20100 (one write and ten uncached tails)", used)
		}
	})
}

// Anthropic's tokens-* headers show the most restrictive limit in effect;
// they never bind before the input and output limits do.
func TestLimitAnthropicTokensHeaderNotABucket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := limiter.New(limiter.WithWindow(time.Hour))
		defer l.Close()
		url, c := limitOver(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("anthropic-ratelimit-input-tokens-limit", "30000")
			h.Set("anthropic-ratelimit-input-tokens-remaining", "29000")
			h.Set("anthropic-ratelimit-output-tokens-limit", "8000")
			h.Set("anthropic-ratelimit-output-tokens-remaining", "8000")
			h.Set("anthropic-ratelimit-tokens-limit", "38000")
			h.Set("anthropic-ratelimit-tokens-remaining", "0") // would stop everything if it were a bucket
			h.Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"id":"m","type":"message","role":"assistant","content":[],"usage":{"input_tokens":100,"output_tokens":5}}`)
		}), l)
		start := time.Now()
		for i := range 5 {
			if code, err := limitCall(context.Background(), c, url, limitBody("claude-haiku-4-5", 400, 16000, false)); code != 200 || err != nil {
				t.Fatalf("call %d: %d %v", i, code, err)
			}
		}
		if el := time.Since(start); el != 0 {
			t.Fatalf("5 calls took %v, want no wait", el)
		}
		st := l.StatsFor(limitKeyFor("claude-haiku-4-5"))
		if st.Limits[limiter.Tokens] != 0 || st.Limits[limiter.InputTokens] != 30000 || st.Limits[limiter.OutputTokens] != 8000 {
			t.Fatalf("limits %v, want input and output learned and no tokens bucket", st.Limits)
		}
	})
}

// Models of one class share one set of buckets under the default key.
func TestLimitModelClassSharesBuckets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := limiter.New(limiter.WithWindow(time.Hour), limiter.WithLimits(limiter.Limits{Requests: 2}))
		defer l.Close()
		url, c := limitOver(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"id":"m","type":"message","role":"assistant","content":[],"usage":{"input_tokens":100,"output_tokens":5}}`)
		}), l)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, m := range []string{"claude-opus-4-8", "claude-opus-4-6"} {
			if code, err := limitCall(ctx, c, url, limitBody(m, 400, 100, false)); code != 200 || err != nil {
				t.Fatalf("%s: %d %v", m, code, err)
			}
		}
		// The class's two requests are spent: a third Opus 4.x model
		// would wait half an hour, and its deadline refuses it at once;
		// another class does not wait.
		start := time.Now()
		var we *limiter.WaitError
		if _, err := limitCall(ctx, c, url, limitBody("claude-opus-4-5", 400, 100, false)); !errors.As(err, &we) || we.Reason != limiter.ReasonFor(limiter.Requests) {
			t.Fatalf("a third Opus 4.x call under a class limit of 2 requests: %v, want a requests WaitError", err)
		}
		if code, err := limitCall(ctx, c, url, limitBody("claude-sonnet-4-6", 400, 100, false)); code != 200 || err != nil {
			t.Fatalf("sonnet: %d %v", code, err)
		}
		if el := time.Since(start); el != 0 {
			t.Fatalf("the refusal and the other class's call took %v, want no time", el)
		}
	})
}

// The limit layer reports a request's send (limiter.Reservation.Sent) when
// http.Transport has written it: two prompt-cache writes of about 20 100
// tokens into a full 40 000-token bucket, the first one's body read by the
// server a second late (net.Pipe: the write ends when the server reads).
// The provider's full bucket refills nothing until the first arrives; the
// second is sent 25 ms after that, not 25 ms after the first grant.
func TestLimitHoldsRefillUntilSent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const transit = time.Second
		l := limiter.New(limiter.WithWindow(5*time.Second), limiter.WithLimits(limiter.Limits{InputTokens: 40000}))
		defer l.Close()
		start := time.Now()
		var calls atomic.Int64
		second := make(chan time.Duration, 1)
		h := func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				time.Sleep(transit) // the body arrives late
			} else {
				second <- time.Since(start)
			}
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-6","content":[{"type":"text","text":"ok"}],`+
				`"stop_reason":"end_turn","usage":{"input_tokens":20100,"output_tokens":5}}`)
		}
		url, c := limitOver(t, http.HandlerFunc(h), l)
		body := cachedPromptBody("claude-sonnet-4-6", 80000, 16)
		post := func() {
			res, err := c.Post(url+"/v1/messages", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); post() }()
		time.Sleep(40 * time.Millisecond)
		go func() { defer wg.Done(); post() }()
		got := <-second
		wg.Wait()
		if lo, hi := transit, transit+100*time.Millisecond; got < lo || got > hi {
			t.Fatalf("second write sent %v after the first, want within [%v, %v] (the first's send, then the refill of what the pair lacks)", got, lo, hi)
		}
	})
}
