package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluicehq/sluice/limiter"
	"github.com/sluicehq/sluice/llmtest"
)

func stackPost(ctx context.Context, c *http.Client, url, model string, words int) (int, error) {
	body := fmt.Sprintf(`{"model":%q,"max_tokens":64,"messages":[{"role":"user","content":%q}]}`,
		model, strings.Repeat("word ", words))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/messages", strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("x-api-key", "stack-test-key")
	req.Header.Set("content-type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// stackFake serves llmtest's fake with cfg over in-memory connections, for
// a test in a synctest bubble, and returns it with its URL and a base
// transport that reaches it.
func stackFake(t *testing.T, cfg llmtest.Config) (*llmtest.Server, string, http.RoundTripper) {
	t.Helper()
	srv := llmtest.NewHandler(cfg)
	pipe := newPipeServer(t, srv)
	t.Cleanup(srv.Close) // before the pipe server closes: ends slow responses
	return srv, pipe.URL, pipe.Transport(t)
}

// The default stack, given only the compressed window, learns the quota from
// llmtest's headers and keeps a burst of callers under it: every call
// succeeds and only the first wave can meet a 429.
func TestNewDefaultStackUnderQuota(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, url, base := stackFake(t, llmtest.Config{
			Window: time.Second,
			Quota:  llmtest.Quota{Requests: 40, InputTokens: 20000, OutputTokens: 4000},
		})
		lim := limiter.New(limiter.WithWindow(time.Second))
		defer lim.Close()
		tr := New(base, WithLimit(LimitSettings{Limiter: lim}))
		defer tr.Close()
		client := &http.Client{Transport: tr}

		const calls, workers = 120, 20
		var wg sync.WaitGroup
		errs := make(chan error, calls)
		jobs := make(chan int)
		for range workers {
			wg.Go(func() {
				for i := range jobs {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					status, err := stackPost(ctx, client, url, "claude-test", 10+i%50)
					cancel()
					if err == nil && status != http.StatusOK {
						err = fmt.Errorf("status %d", status)
					}
					if err != nil {
						errs <- err
					}
				}
			})
		}
		for i := range calls {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		st := srv.Stats()
		if st.Completed != calls {
			t.Errorf("completed %d of %d", st.Completed, calls)
		}
		if st.RateLimited > workers {
			t.Errorf("429s served = %d, want at most the first wave (%d)", st.RateLimited, workers)
		}
		if st.HerdArrivals != 0 {
			t.Errorf("herd arrivals = %d, want 0", st.HerdArrivals)
		}
		if ks := tr.Limiter().Stats(); len(ks) != 1 {
			t.Errorf("limiter keys = %d, want 1", len(ks))
		}
		t.Logf("arrivals %d, 429s %d", st.Arrivals, st.RateLimited)
	})
}

// newOwning is New with its limit layer over l, which the Transport owns
// as it owns the limiter New builds: Close closes it. LimitSettings cannot
// configure the limiter New builds (here, its concurrency), and Close
// leaves a limiter passed in LimitSettings open, so the tests of what
// Close does to the limiter's callers hand theirs over this way.
func newOwning(base http.RoundTripper, l *limiter.Limiter, opts ...Option) *Transport {
	tr := New(base, append([]Option{WithLimit(LimitSettings{Limiter: l})}, opts...)...)
	tr.owned = true
	return tr
}

// Close releases callers queued in the limiter with limiter.ErrClosed at
// once; the call in flight ends as it would have, after the fake's 200 ms.
func TestNewCloseReleasesWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, url, base := stackFake(t, llmtest.Config{Latency: 200 * time.Millisecond})
		tr := newOwning(base, limiter.New(limiter.WithConcurrency(1)))
		client := &http.Client{Transport: tr}
		start := time.Now()

		first := make(chan error, 1)
		go func() {
			_, err := stackPost(context.Background(), client, url, "m", 1)
			first <- err
		}()
		synctest.Wait()
		if n := srv.Stats().Arrivals; n != 1 {
			t.Fatalf("%d arrivals, want the first call's", n)
		}
		second := make(chan error, 1)
		go func() {
			_, err := stackPost(context.Background(), client, url, "m", 1)
			second <- err
		}()
		synctest.Wait()
		if q := tr.Limiter().Stats()[0].Queued; q != 1 {
			t.Fatalf("%d queued, want the second call", q)
		}
		if err := tr.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-second; !errors.Is(err, limiter.ErrClosed) {
			t.Errorf("queued call after Close: %v, want limiter.ErrClosed", err)
		}
		if el := time.Since(start); el != 0 {
			t.Errorf("queued call released after %v, want at once", el)
		}
		if err := <-first; err != nil {
			t.Errorf("call in flight during Close: %v", err)
		}
		if el := time.Since(start); el != 200*time.Millisecond {
			t.Errorf("call in flight ended after %v, want the fake's 200ms", el)
		}
	})
}
