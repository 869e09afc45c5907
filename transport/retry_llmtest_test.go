package transport

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluicehq/sluice/llmtest"
)

// retryLLM is llmtest's fake API served over in-memory connections, for a
// test in a synctest bubble, and a retry client that reaches it.
type retryLLM struct {
	*llmtest.Server
	url    string
	client *http.Client
	cc     *closeCounter
}

func newRetryLLM(t *testing.T, cfg llmtest.Config, rs RetrySettings) *retryLLM {
	t.Helper()
	s := llmtest.NewHandler(cfg)
	srv := newPipeServer(t, s)
	t.Cleanup(s.Close) // before the pipe server closes: ends slow responses
	c, cc := retryClientOver(srv.Transport(t), rs)
	return &retryLLM{Server: s, url: srv.URL, client: c, cc: cc}
}

// post sends an Anthropic Messages request.
func (g *retryLLM) post(ctx context.Context, body string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url+"/v1/messages", bytes.NewReader([]byte(body)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("x-api-key", "sk-test-retry")
	req.Header.Set("content-type", "application/json")
	return g.client.Do(req)
}

const llmBody = `{"model":"claude-herd","max_tokens":8,"messages":[{"role":"user","content":"hello there"}]}`

// Thundering herd: the first caller drains the quota and the server
// answers 429 with retry-after: 2; 49 more callers start while it waits.
// Every one of the 50 waits out the announced moment — none arrives early
// (llmtest counts such arrivals as herd arrivals) nor later than the
// server-delay jitter allows (20 %) — and all succeed.
func TestRetryThunderingHerd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newRetryLLM(t, llmtest.Config{Window: time.Minute, Quota: llmtest.Quota{Requests: 1000}}, RetrySettings{})
		g.Inject(llmtest.Fault{Kind: llmtest.FaultStatus, Status: 429, RetryAfter: "2", ShouldRetry: "true", Count: 1})

		const callers = 50
		var wg sync.WaitGroup
		errs := make(chan error, callers)
		call := func() {
			resp, err := g.post(context.Background(), llmBody)
			if err != nil {
				errs <- err
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- errors.New(resp.Status)
			}
		}
		start := time.Now()
		wg.Go(call)
		synctest.Wait() // the 429 is in, its caller waits: the limit is known
		for range callers - 1 {
			wg.Go(call)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("call failed: %v", err)
		}
		st := g.Stats()
		if st.HerdArrivals != 0 {
			t.Errorf("herd arrivals = %d, want 0", st.HerdArrivals)
		}
		if st.Arrivals != callers+1 || st.RateLimited != 1 || st.ByStatus[200] != callers {
			t.Errorf("arrivals %d, 429s %d, 200s %d; want %d, 1, %d", st.Arrivals, st.RateLimited, st.ByStatus[200], callers+1, callers)
		}
		for i, r := range g.Requests()[1:] {
			if at := r.Time.Sub(start); at < 2*time.Second || at > 2400*time.Millisecond {
				t.Errorf("attempt %d arrived at %v, want 2s to 2.4s", i+1, at)
			}
		}
		if g.cc.opened.Load() != g.cc.closed.Load() {
			t.Errorf("bodies opened %d, closed %d", g.cc.opened.Load(), g.cc.closed.Load())
		}
	})
}

// Every attempt carries the same bytes, proven by llmtest's per-attempt
// body hashes, for a body with GetBody and one the layer buffers.
func TestRetryBodyReplayLLMTest(t *testing.T) {
	for _, getBody := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			g := newRetryLLM(t, llmtest.Config{}, RetrySettings{InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
			g.Inject(llmtest.Fault{Kind: llmtest.FaultStatus, Status: 529, Count: 1},
				llmtest.Fault{Kind: llmtest.FaultReset, Count: 1},
				llmtest.Fault{Kind: llmtest.FaultStatus, Status: 503, RetryAfterMs: "5", Count: 1})
			var body io.Reader = bytes.NewReader([]byte(llmBody))
			if !getBody {
				body = io.MultiReader(body) // hides the type: no GetBody
			}
			req, _ := http.NewRequest(http.MethodPost, g.url+"/v1/messages", body)
			req.Header.Set("x-api-key", "sk-test-retry")
			resp, err := g.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			retryReadAll(t, resp)
			reqs := g.Requests()
			if resp.StatusCode != 200 || len(reqs) != 4 {
				t.Fatalf("GetBody=%v: status %d after %d attempts, want 200 after 4", getBody, resp.StatusCode, len(reqs))
			}
			want := sha256.Sum256([]byte(llmBody))
			for i, r := range reqs {
				if r.BodySHA256 != want {
					t.Fatalf("GetBody=%v: attempt %d body differs", getBody, i)
				}
			}
			if o, cl := g.cc.opened.Load(), g.cc.closed.Load(); o != 3 || cl != 3 {
				t.Fatalf("bodies opened %d closed %d, want 3/3 (one attempt was reset)", o, cl)
			}
		})
	}
}

// A retry-after of 10 s with 3 s left: the 429 comes back at once.
func TestRetryDeadlineLLMTest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newRetryLLM(t, llmtest.Config{}, RetrySettings{})
		g.Inject(llmtest.Fault{Kind: llmtest.FaultStatus, Status: 429, RetryAfter: "10", Count: 1})
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		start := time.Now()
		resp, err := g.post(ctx, llmBody)
		if err != nil {
			t.Fatal(err)
		}
		body := retryReadAll(t, resp)
		if resp.StatusCode != 429 || !bytes.Contains([]byte(body), []byte("rate_limit_error")) {
			t.Fatalf("got %d %q, want the provider's 429", resp.StatusCode, body)
		}
		if el := time.Since(start); el != 0 {
			t.Fatalf("returned after %v, want at once", el)
		}
	})
}

func TestRetryStreamErrorLLMTest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newRetryLLM(t, llmtest.Config{}, RetrySettings{InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
		g.Inject(llmtest.Fault{Kind: llmtest.FaultStreamError, Count: 1},
			llmtest.Fault{Kind: llmtest.FaultStreamError, ErrorType: "rate_limit_error", Count: 1})
		resp, err := g.post(context.Background(), `{"model":"claude-herd","max_tokens":8,"stream":true,"messages":[{"role":"user","content":"hi"}]}`)
		if err != nil {
			t.Fatal(err)
		}
		body := retryReadAll(t, resp)
		if resp.StatusCode != 200 || !bytes.Contains([]byte(body), []byte("message_stop")) {
			t.Fatalf("got %d %q, want a complete stream", resp.StatusCode, body)
		}
		if n := g.Stats().Arrivals; n != 3 {
			t.Fatalf("%d arrivals, want 3", n)
		}
	})
}

// A 300 ms outage: the call backs off through it and the first attempt
// after its end succeeds, no later than one backoff step (200 ms at most)
// after the last 529.
func TestRetryOutageLLMTest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newRetryLLM(t, llmtest.Config{}, RetrySettings{InitialBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, MaxAttempts: 20})
		start := time.Now()
		g.StartOutage(300*time.Millisecond, 529)
		resp, err := g.post(context.Background(), llmBody)
		if err != nil {
			t.Fatal(err)
		}
		retryReadAll(t, resp)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d after the outage, want 200", resp.StatusCode)
		}
		reqs := g.Requests()
		if len(reqs) < 2 {
			t.Fatalf("%d attempts, want some 529s first", len(reqs))
		}
		for i, r := range reqs {
			at := r.Time.Sub(start)
			if last := i == len(reqs)-1; last != (r.Status == 200) || last != (at >= 300*time.Millisecond) {
				t.Errorf("attempt %d at %v: %d, want 529 before 300ms, 200 at the first attempt after", i, at, r.Status)
			}
		}
		if gap := reqs[len(reqs)-1].Time.Sub(reqs[len(reqs)-2].Time); gap > 200*time.Millisecond {
			t.Errorf("the last backoff was %v, over the 200ms maximum", gap)
		}
	})
}
