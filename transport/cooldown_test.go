package transport

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluicehq/sluice/limiter"
)

// A 429 with retry-after-ms 1500 cools its host and model: the retry and a
// second call to the same model arrive exactly 1.5 s after it, a call to
// another model at once.
func TestRetryCooldownHoldsOtherRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newRetryPipeServer(t, retryRateLimited("1500"), retryOK)
		c, _ := srv.client(t, RetrySettings{ServerDelayJitter: -1})
		rt := c.Transport.(*retryTransport)

		first := make(chan error, 1)
		go func() {
			resp, err := retryPost(t, c, context.Background(), srv.URL, retryJSON)
			if err == nil {
				resp.Body.Close()
			}
			first <- err
		}()
		// Once the 429 has set the cool-down, start a second call to the
		// same host and model, and a third to another model.
		synctest.Wait()
		if !rt.cool.active() {
			t.Fatal("no cool-down after the 429")
		}
		cooledAt := time.Now()
		other := `{"model":"another-model","max_tokens":1}`
		otherDone := make(chan time.Duration, 1)
		go func() {
			resp, err := retryPost(t, c, context.Background(), srv.URL, other)
			if err == nil {
				resp.Body.Close()
			}
			otherDone <- time.Since(cooledAt)
		}()
		resp, err := retryPost(t, c, context.Background(), srv.URL, retryJSON)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		if d := <-otherDone; d != 0 {
			t.Fatalf("a request for another model waited %v; the cool-down is per model", d)
		}
		// Server-side times: the 429 was sent at arrivals[0].
		srv.mu.Lock()
		defer srv.mu.Unlock()
		if len(srv.arrivals) != 4 {
			t.Fatalf("%d arrivals, want 4 (429, retry, held call, other model)", len(srv.arrivals))
		}
		var at []time.Duration
		for _, a := range srv.arrivals[1:] {
			at = append(at, a.Sub(srv.arrivals[0]))
		}
		slices.Sort(at)
		if want := []time.Duration{0, 1500 * time.Millisecond, 1500 * time.Millisecond}; !slices.Equal(at, want) {
			t.Fatalf("arrivals after the 429 at %v, want %v (the other model's, then the retry and the held call)", at, want)
		}
	})
}

// A 429 that is not retried still starts the cool-down: a call whose
// deadline ends before it is refused at once, without being sent.
func TestCooldownDeadlineTooSoon(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newRetryPipeServer(t, retryRateLimited("2000"), retryOK)
		c, _ := srv.client(t, RetrySettings{MaxAttempts: 1})
		rt := c.Transport.(*retryTransport)
		resp, err := retryPost(t, c, context.Background(), srv.URL, retryJSON)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if !rt.cool.active() {
			t.Fatal("a 429 with a server delay must set the cool-down even when not retried")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err = retryPost(t, c, ctx, srv.URL, retryJSON)
		if !retryErrorsIs(err, ErrDeadlineTooSoon) || srv.count() != 1 {
			t.Fatalf("err = %v after %d arrivals, want ErrDeadlineTooSoon and nothing sent", err, srv.count())
		}
		if el := time.Since(start); el != 0 {
			t.Fatalf("refused after %v, want at once", el)
		}
	})
}

// cooldownReply answers every request with one response.
type cooldownReply struct {
	status int
	header http.Header
	body   string
}

func (r cooldownReply) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	h := r.header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("Content-Type", "application/json")
	return &http.Response{StatusCode: r.status, Header: h, Request: req,
		Body: io.NopCloser(strings.NewReader(r.body)), ContentLength: int64(len(r.body))}, nil
}

// The limit layer and the retry layer's own cool-down start a cool-down on
// exactly the same responses: one rule, cooldownUntil.
func TestCooldownOneRuleForBothLayers(t *testing.T) {
	const delay = "30"
	rateLimited := `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`
	spend := `{"type":"error","error":{"type":"rate_limit_error","message":"spend","details":{"error_code":"enforced_spend_limit_reached"}}}`
	cases := []struct {
		name  string
		reply cooldownReply
		want  bool
	}{
		{"429 with Retry-After", cooldownReply{429, http.Header{"Retry-After": {delay}}, rateLimited}, true},
		{"529 with retry-after-ms", cooldownReply{529, http.Header{"Retry-After-Ms": {"30000"}}, `{}`}, true},
		{"429 without a delay", cooldownReply{429, nil, rateLimited}, false},
		{"503 with Retry-After", cooldownReply{503, http.Header{"Retry-After": {delay}}, `{}`}, false},
		{"429 with a delay above MaxServerDelay", cooldownReply{429, http.Header{"Retry-After": {"3600"}}, rateLimited}, false},
		{"hard quota: x-should-retry false", cooldownReply{429, http.Header{"Retry-After": {delay}, "X-Should-Retry": {"false"}}, rateLimited}, false},
		{"hard quota: spend limit", cooldownReply{429, http.Header{"Retry-After": {delay}}, spend}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			send := func(rt http.RoundTripper) {
				t.Helper()
				req, _ := http.NewRequest(http.MethodPost, "https://api.anthropic.com/v1/messages",
					strings.NewReader(`{"model":"claude-x","max_tokens":8,"messages":[]}`))
				req.Header.Set("x-api-key", "cooldown-key")
				resp, err := rt.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			rs := RetrySettings{MaxServerDelay: time.Minute, MaxAttempts: 1}

			retry := Retry(tc.reply, rs).(*retryTransport)
			send(retry)
			now := time.Now()
			retryCooled := retry.cool.remaining(cooldownKey{"api.anthropic.com", "claude-x"}, now) > 0

			l := limiter.New()
			defer l.Close()
			// The limit layer bounds its cool-down by the retry settings'
			// MaxServerDelay, which only New hands it (Limit takes
			// LimitSettings): build it as New does, with the same bound.
			c := newConfig([]Option{WithRetry(rs), WithLimit(LimitSettings{Limiter: l})})
			send(newLimit(tc.reply, c, l))
			var limitCooled bool
			for _, ks := range l.Stats() {
				limitCooled = limitCooled || ks.CooldownUntil.After(now)
			}

			if retryCooled != tc.want || limitCooled != tc.want {
				t.Errorf("cool-down started: retry layer %v, limit layer %v; want %v for both", retryCooled, limitCooled, tc.want)
			}
		})
	}
}
