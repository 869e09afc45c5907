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
	"time"

	"github.com/sluicehq/sluice/llmtest"
)

func retryLLMServer(t *testing.T, cfg llmtest.Config) *llmtest.Server {
	t.Helper()
	s := llmtest.NewServer(cfg)
	t.Cleanup(s.Close)
	return s
}

// llmPost sends an Anthropic Messages request through c.
func retryLLMPost(ctx context.Context, c *http.Client, s *llmtest.Server, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/v1/messages", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("x-api-key", "sk-test-retry")
	req.Header.Set("content-type", "application/json")
	return c.Do(req)
}

const llmBody = `{"model":"claude-herd","max_tokens":8,"messages":[{"role":"user","content":"hello there"}]}`

// Thundering herd: the first caller drains the quota and the server
// answers 429 with retry-after: 2; 49 more callers start while it waits.
// Every one of the 50 waits out the announced moment — none arrives early
// (llmtest counts such arrivals as herd arrivals) — and all succeed.
func TestRetryThunderingHerd(t *testing.T) {
	s := retryLLMServer(t, llmtest.Config{Window: time.Minute, Quota: llmtest.Quota{Requests: 1000}})
	s.Inject(llmtest.Fault{Kind: llmtest.FaultStatus, Status: 429, RetryAfter: "2", ShouldRetry: "true", Count: 1})
	c, cc := retryClient(t)
	rt := c.Transport.(*retryTransport)

	const callers = 50
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	call := func() {
		defer wg.Done()
		resp, err := retryLLMPost(context.Background(), c, s, []byte(llmBody))
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
	wg.Add(1)
	go call()
	retryWaitFor(t, 5*time.Second, rt.cool.active) // the 429 is in: the limit is known
	for range callers - 1 {
		wg.Add(1)
		go call()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("call failed: %v", err)
	}
	st := s.Stats()
	if st.HerdArrivals != 0 {
		t.Errorf("herd arrivals = %d, want 0", st.HerdArrivals)
	}
	if st.Arrivals != callers+1 || st.RateLimited != 1 || st.ByStatus[200] != callers {
		t.Errorf("arrivals %d, 429s %d, 200s %d; want %d, 1, %d", st.Arrivals, st.RateLimited, st.ByStatus[200], callers+1, callers)
	}
	if el := time.Since(start); el < 2*time.Second {
		t.Errorf("all done after %v, before the announced 2s", el)
	}
	if cc.opened.Load() != cc.closed.Load() {
		t.Errorf("bodies opened %d, closed %d", cc.opened.Load(), cc.closed.Load())
	}
}

// Every attempt carries the same bytes, proven by llmtest's per-attempt
// body hashes, for a body with GetBody and one the layer buffers.
func TestRetryBodyReplayLLMTest(t *testing.T) {
	for _, getBody := range []bool{true, false} {
		s := retryLLMServer(t, llmtest.Config{})
		s.Inject(llmtest.Fault{Kind: llmtest.FaultStatus, Status: 529, Count: 1},
			llmtest.Fault{Kind: llmtest.FaultReset, Count: 1},
			llmtest.Fault{Kind: llmtest.FaultStatus, Status: 503, RetryAfterMs: "5", Count: 1})
		c, cc := retryClient(t, WithBackoff(time.Millisecond, 5*time.Millisecond))
		var body io.Reader = bytes.NewReader([]byte(llmBody))
		if !getBody {
			body = io.MultiReader(body) // hides the type: no GetBody
		}
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/v1/messages", body)
		req.Header.Set("x-api-key", "sk-test-retry")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		retryReadAll(t, resp)
		reqs := s.Requests()
		if resp.StatusCode != 200 || len(reqs) != 4 {
			t.Fatalf("GetBody=%v: status %d after %d attempts, want 200 after 4", getBody, resp.StatusCode, len(reqs))
		}
		want := sha256.Sum256([]byte(llmBody))
		for i, r := range reqs {
			if r.BodySHA256 != want {
				t.Fatalf("GetBody=%v: attempt %d body differs", getBody, i)
			}
		}
		if o, cl := cc.opened.Load(), cc.closed.Load(); o != 3 || cl != 3 {
			t.Fatalf("bodies opened %d closed %d, want 3/3 (one attempt was reset)", o, cl)
		}
	}
}

func TestRetryDeadlineLLMTest(t *testing.T) {
	s := retryLLMServer(t, llmtest.Config{})
	s.Inject(llmtest.Fault{Kind: llmtest.FaultStatus, Status: 429, RetryAfter: "10", Count: 1})
	c, _ := retryClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	resp, err := retryLLMPost(ctx, c, s, []byte(llmBody))
	if err != nil {
		t.Fatal(err)
	}
	body := retryReadAll(t, resp)
	if resp.StatusCode != 429 || !bytes.Contains([]byte(body), []byte("rate_limit_error")) {
		t.Fatalf("got %d %q, want the provider's 429", resp.StatusCode, body)
	}
	if el := time.Since(start); el > 1500*time.Millisecond {
		t.Fatalf("returned after %v, want promptly", el)
	}
}

func TestRetryStreamErrorLLMTest(t *testing.T) {
	s := retryLLMServer(t, llmtest.Config{})
	s.Inject(llmtest.Fault{Kind: llmtest.FaultStreamError, Count: 1},
		llmtest.Fault{Kind: llmtest.FaultStreamError, ErrorType: "rate_limit_error", Count: 1})
	c, _ := retryClient(t, WithBackoff(time.Millisecond, 5*time.Millisecond))
	stream := `{"model":"claude-herd","max_tokens":8,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
	resp, err := retryLLMPost(context.Background(), c, s, []byte(stream))
	if err != nil {
		t.Fatal(err)
	}
	body := retryReadAll(t, resp)
	if resp.StatusCode != 200 || !bytes.Contains([]byte(body), []byte("message_stop")) {
		t.Fatalf("got %d %q, want a complete stream", resp.StatusCode, body)
	}
	if n := s.Stats().Arrivals; n != 3 {
		t.Fatalf("%d arrivals, want 3", n)
	}
}

func TestRetryOutageLLMTest(t *testing.T) {
	s := retryLLMServer(t, llmtest.Config{})
	s.StartOutage(300*time.Millisecond, 529)
	c, _ := retryClient(t, WithBackoff(50*time.Millisecond, 200*time.Millisecond), WithMaxAttempts(20))
	resp, err := retryLLMPost(context.Background(), c, s, []byte(llmBody))
	if err != nil {
		t.Fatal(err)
	}
	retryReadAll(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d after the outage, want 200", resp.StatusCode)
	}
	if st := s.Stats(); st.ByStatus[529] < 1 {
		t.Fatalf("no 529 seen: %+v", st)
	}
}
