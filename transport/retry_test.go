package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func retryPost(t *testing.T, c *http.Client, ctx context.Context, url, body string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/messages", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return c.Do(req)
}

func retryReadAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Two 429s with retry-after-ms: 20, then a 200. Each retry comes the
// announced 20 ms later, plus the server-delay jitter (at most 20 %), and
// every discarded body is closed.
func TestRetryRateLimitThenOK(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newRetryPipeServer(t, retryRateLimited("20"), retryRateLimited("20"), retryOK)
		c, cc := srv.client(t, RetrySettings{})
		resp, err := retryPost(t, c, context.Background(), srv.URL, retryJSON)
		if err != nil {
			t.Fatal(err)
		}
		if got := retryReadAll(t, resp); resp.StatusCode != 200 || got != `{"ok":true}` {
			t.Fatalf("got %d %q", resp.StatusCode, got)
		}
		if n := srv.count(); n != 3 {
			t.Fatalf("server saw %d attempts, want 3", n)
		}
		for i, g := range srv.gaps() {
			if g < 20*time.Millisecond || g > 24*time.Millisecond {
				t.Errorf("retry %d came %v after the 429, want 20ms to 24ms", i+1, g)
			}
		}
		if o, cl := cc.opened.Load(), cc.closed.Load(); o != 3 || cl != 3 {
			t.Fatalf("bodies opened %d closed %d, want 3/3", o, cl)
		}
	})
}

func TestRetryStatusRules(t *testing.T) {
	tests := []struct {
		status      int
		shouldRetry string
		want        int // attempts
	}{
		{408, "", 3}, {409, "", 3}, {429, "", 3}, {500, "", 3}, {502, "", 3}, {503, "", 3}, {504, "", 3}, {529, "", 3},
		{501, "", 1}, {418, "", 1},
		{400, "", 1}, {401, "", 1}, {403, "", 1}, {404, "", 1}, {413, "", 1}, {422, "", 1},
		{429, "false", 1}, {503, "false", 1},
		{501, "true", 3}, {418, "true", 3},
		{400, "true", 1}, {401, "true", 1}, {422, "true", 1},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status)+"/"+tt.shouldRetry, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := map[string]string{"retry-after-ms": "1"}
				if tt.shouldRetry != "" {
					h["x-should-retry"] = tt.shouldRetry
				}
				srv := newRetryPipeServer(t, retryReply{status: tt.status, headers: h, body: "err"})
				c, cc := srv.client(t, RetrySettings{MaxAttempts: 3})
				resp, err := retryPost(t, c, context.Background(), srv.URL, retryJSON)
				if err != nil {
					t.Fatal(err)
				}
				if body := retryReadAll(t, resp); resp.StatusCode != tt.status || body != "err" {
					t.Fatalf("got %d %q, want the provider's %d response unchanged", resp.StatusCode, body, tt.status)
				}
				if n := srv.count(); n != tt.want {
					t.Fatalf("%d attempts, want %d", n, tt.want)
				}
				if tt.want > 1 && resp.Header.Get("x-should-retry") != "false" {
					t.Fatalf("give-up response lacks x-should-retry: false")
				}
				if cc.opened.Load() != cc.closed.Load() {
					t.Fatalf("bodies opened %d closed %d", cc.opened.Load(), cc.closed.Load())
				}
			})
		})
	}
}

// A hard limit (spend limit, quota, request too large) is returned at
// once, even with retry-after and x-should-retry: true, and marked so.
func TestRetryHardLimitNotRetried(t *testing.T) {
	bodies := []string{
		`{"type":"error","error":{"type":"rate_limit_error","message":"spend","details":{"error_code":"enforced_spend_limit_reached"}}}`,
		`{"type":"error","error":{"type":"rate_limit_error","message":"spend","details":{"error_code":"contract_spend_limit_reached"}}}`,
		`{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`,
		`{"error":{"message":"Request too large for gpt-4o on tokens per min (TPM): Limit 30000, Requested 31538.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}`,
		// Larger than the peek bound: found as text.
		`{"error":{"code":"insufficient_quota","message":"` + strings.Repeat("x", 20<<10) + `"}}`,
	}
	synctest.Test(t, func(t *testing.T) {
		for i, body := range bodies {
			srv := newRetryPipeServer(t, retryReply{status: 429, headers: map[string]string{"retry-after": "1", "x-should-retry": "true"}, body: body})
			c, _ := srv.client(t, RetrySettings{})
			start := time.Now()
			resp, err := retryPost(t, c, context.Background(), srv.URL, retryJSON)
			if err != nil {
				t.Fatal(err)
			}
			if got := retryReadAll(t, resp); got != body && i < 4 {
				t.Fatalf("body not intact: %q", got)
			} else if len(got) != len(body) {
				t.Fatalf("body %d: got %d bytes, want %d", i, len(got), len(body))
			}
			if n, d := srv.count(), time.Since(start); n != 1 || d != 0 {
				t.Fatalf("body %d: %d attempts in %v, want 1 at once", i, n, d)
			}
			if resp.Header.Get("x-should-retry") != "false" {
				t.Fatalf("hard limit lacks x-should-retry: false")
			}
		}
	})
}

// A retry-after that would end past the caller's deadline is not slept
// on: the 429 comes back at once.
func TestRetryDeadlineShorterThanRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newRetryPipeServer(t, retryReply{status: 429, headers: map[string]string{"retry-after": "5"}, body: "limited"})
		c, _ := srv.client(t, RetrySettings{})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		resp, err := retryPost(t, c, ctx, srv.URL, retryJSON)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 429 || retryReadAll(t, resp) != "limited" {
			t.Fatalf("want the 429 back, got %d", resp.StatusCode)
		}
		if el := time.Since(start); el != 0 {
			t.Fatalf("returned after %v; must not sleep into the deadline", el)
		}
	})
}

// A retry-after beyond RetrySettings.MaxServerDelay gives up at once.
func TestRetryMaxServerDelayGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newRetryPipeServer(t, retryReply{status: 429, headers: map[string]string{"retry-after": "3600"}, body: "later"})
		c, _ := srv.client(t, RetrySettings{})
		start := time.Now()
		resp, err := retryPost(t, c, context.Background(), srv.URL, retryJSON)
		if err != nil {
			t.Fatal(err)
		}
		retryReadAll(t, resp)
		if d := time.Since(start); resp.StatusCode != 429 || srv.count() != 1 || d != 0 {
			t.Fatalf("got %d after %d attempts in %v, want the 429 at once", resp.StatusCode, srv.count(), d)
		}
	})
}

// Cancelling the caller's context ends the wait for a retry-after at once,
// with a *RetryError that names the wait it cut short.
func TestRetryCancelInterruptsWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newRetryPipeServer(t, retryReply{status: 503, headers: map[string]string{"retry-after": "30"}})
		c, _ := srv.client(t, RetrySettings{})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(10*time.Second, cancel)
		start := time.Now()
		_, err := retryPost(t, c, ctx, srv.URL, retryJSON)
		var re *RetryError
		if !errors.As(err, &re) || !errors.Is(err, ErrWaitInterrupted) || !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want a *RetryError wrapping ErrWaitInterrupted and context.Canceled", err)
		}
		// 30 s plus the server-delay jitter, at most 5 s.
		if re.Wait < 30*time.Second || re.Wait > 35*time.Second {
			t.Errorf("wait %v, want 30s to 35s", re.Wait)
		}
		if d := time.Since(start); d != 10*time.Second || srv.count() != 1 {
			t.Errorf("returned after %v and %d attempts, want at the cancel, 10s, after 1", d, srv.count())
		}
	})
}

// retryHangUp is a handler that closes the connection without answering:
// every attempt fails before a response.
func retryHangUp(w http.ResponseWriter, r *http.Request) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = conn.Close()
	}
}

// Transport errors are retried with the exponential backoff, each step
// jittered down to between half and all of it, then given up.
func TestRetryTransportErrorsExhausted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newPipeServer(t, http.HandlerFunc(retryHangUp))
		c, _ := retryClientOver(srv.Transport(t), RetrySettings{MaxAttempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
		start := time.Now()
		_, err := retryPost(t, c, context.Background(), srv.URL, retryJSON)
		var re *RetryError
		if !errors.As(err, &re) || !errors.Is(err, ErrRetriesExhausted) || re.Attempts != 3 || re.Err == nil {
			t.Fatalf("err = %v, want *RetryError{ErrRetriesExhausted, 3 attempts} with a cause", err)
		}
		// Backoffs of 1 ms and 2 ms, each jittered into [b/2, b].
		if d := time.Since(start); d < 1500*time.Microsecond || d > 3*time.Millisecond {
			t.Fatalf("gave up after %v, want 1.5ms to 3ms", d)
		}
	})
}

func TestRetryBodyReplay(t *testing.T) {
	big := `{"model":"m","pad":"` + strings.Repeat("z", 4096) + `"}`
	cases := []struct {
		name     string
		body     func() io.Reader
		settings RetrySettings
		attempts int
	}{
		{"GetBody (bytes.Reader)", func() io.Reader { return bytes.NewReader([]byte(big)) }, RetrySettings{}, 3},
		{"no GetBody: buffered", func() io.Reader { return io.MultiReader(strings.NewReader(big)) }, RetrySettings{}, 3},
		{"no GetBody, over the limit: sent once", func() io.Reader { return io.MultiReader(strings.NewReader(big)) }, RetrySettings{MaxReplayBody: 1024}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newRetryPipeServer(t, retryRateLimited("1"), retryRateLimited("1"), retryOK)
				c, _ := srv.client(t, tc.settings)
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/messages", tc.body())
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				retryReadAll(t, resp)
				if n := srv.count(); n != tc.attempts {
					t.Fatalf("%d attempts, want %d", n, tc.attempts)
				}
				want := retrySHA256(big)
				for i, h := range srv.hashes {
					if h != want {
						t.Fatalf("attempt %d body differs from the original", i)
					}
				}
			})
		})
	}
}

func TestRetryBudgetExhausted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newRetryPipeServer(t, retryReply{status: 503, headers: map[string]string{"retry-after-ms": "1"}, body: "down"})
		c, _ := srv.client(t, zeroBudget)
		resp, err := retryPost(t, c, context.Background(), srv.URL, retryJSON)
		if err != nil {
			t.Fatal(err)
		}
		if retryReadAll(t, resp) != "down" || srv.count() != 1 || resp.Header.Get("x-should-retry") != "false" {
			t.Fatalf("budget 0 must return the first 503: %d attempts", srv.count())
		}
	})
}

// A retry the budget refuses waits until the budget has room — here made
// by the calls that keep arriving — and is then made; the budget still
// bounds the rate of retries.
func TestRetryBudgetWaitsForRoom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var arrivals atomic.Int64
		api := roundTripFunc(func(req *http.Request) (*http.Response, error) {
			io.Copy(io.Discard, req.Body)
			if req.Header.Get("X-Ok") != "" {
				return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("ok")), Request: req}, nil
			}
			arrivals.Add(1)
			return &http.Response{StatusCode: 503, Header: http.Header{"Retry-After-Ms": {"1"}},
				Body: io.NopCloser(strings.NewReader("down")), Request: req}, nil
		})
		// 50 % of recent calls, 2 attempts each: of 4 failing calls at
		// once, not every retry fits; the others wait until the calls
		// arriving meanwhile (one every 100 ms) make room.
		rt := Retry(api, RetrySettings{BudgetRatio: 0.5, BudgetMinPerSecond: -1, MaxAttempts: 2})
		send := func(ok bool) time.Duration {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, "http://api.test/v1/messages", strings.NewReader(retryJSON))
			if ok {
				req.Header.Set("X-Ok", "1")
			}
			start := time.Now()
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Errorf("call: %v", err)
				return 0
			}
			resp.Body.Close()
			return time.Since(start)
		}
		// Two calls first, so that no refusal finds an empty budget with
		// nothing to wait for (that one gives up at once).
		send(true)
		send(true)
		var wg sync.WaitGroup
		done := make([]time.Duration, 4)
		for i := range 4 {
			wg.Go(func() { done[i] = send(false) })
		}
		wg.Go(func() {
			for range 20 {
				send(true)
				time.Sleep(100 * time.Millisecond)
			}
		})
		wg.Wait()
		if n := arrivals.Load(); n != 8 {
			t.Fatalf("%d attempts for 4 failing calls, want 8: the refused retries must wait, not give up", n)
		}
		// At most 7 calls are in the budget before its first turn, room
		// for 3 retries: at least one waited for the next.
		var waited int
		for _, d := range done {
			if d >= time.Second {
				waited++
			}
		}
		if waited == 0 {
			t.Fatalf("call durations %v: want a call held back by the budget", done)
		}
	})
}

// A deadline too short for the budget's room gives the retry up at once.
func TestRetryBudgetGivesUpAtDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var arrivals atomic.Int64
		down := roundTripFunc(func(req *http.Request) (*http.Response, error) {
			arrivals.Add(1)
			io.Copy(io.Discard, req.Body)
			return &http.Response{StatusCode: 503, Header: http.Header{"Retry-After-Ms": {"1"}},
				Body: io.NopCloser(strings.NewReader("down")), Request: req}, nil
		})
		rt := Retry(down, RetrySettings{BudgetRatio: 0.5, BudgetMinPerSecond: -1, MaxAttempts: 2})
		for i := range 3 {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://api.test/v1/messages", strings.NewReader(retryJSON))
			start := time.Now()
			resp, err := rt.RoundTrip(req)
			cancel()
			if err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
			resp.Body.Close()
			// Only call 1 retries, after retry-after-ms: 1 and at most 20 %
			// jitter; the others return at once.
			lo, hi := time.Duration(0), time.Duration(0)
			if i == 1 {
				lo, hi = time.Millisecond, 1200*time.Microsecond
			}
			if d := time.Since(start); d < lo || d > hi {
				t.Fatalf("call %d took %v; a refused retry that cannot fit the deadline must not wait", i, d)
			}
		}
		// call 0: 1 > 0.5 refused, nothing to wait for; call 1: retry fits;
		// call 2: refused, deadline too short.
		if n := arrivals.Load(); n != 4 {
			t.Fatalf("%d attempts, want 4", n)
		}
	})
}
