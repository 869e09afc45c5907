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

// The default stack, given only the compressed window, learns the quota from
// llmtest's headers and keeps a burst of callers under it: every call
// succeeds and only the first wave can meet a 429.
func TestNewDefaultStackUnderQuota(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Config{
		Window: time.Second,
		Quota:  llmtest.Quota{Requests: 40, InputTokens: 20000, OutputTokens: 4000},
	})
	defer srv.Close()
	tr := New(nil, WithWindow(time.Second))
	defer tr.Close()
	client := &http.Client{Transport: tr}

	const calls, workers = 120, 20
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	jobs := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				status, err := stackPost(ctx, client, srv.URL, "claude-test", 10+i%50)
				cancel()
				if err == nil && status != http.StatusOK {
					err = fmt.Errorf("status %d", status)
				}
				if err != nil {
					errs <- err
				}
			}
		}()
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
}

// Close releases callers queued in the limiter with limiter.ErrClosed.
func TestNewCloseReleasesWaiters(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Config{Latency: 200 * time.Millisecond})
	defer srv.Close()
	tr := New(nil, WithLimiterOptions(limiter.WithConcurrency(1)))
	client := &http.Client{Transport: tr}

	first := make(chan error, 1)
	go func() {
		_, err := stackPost(context.Background(), client, srv.URL, "m", 1)
		first <- err
	}()
	// Wait until the first call holds the only slot.
	deadline := time.Now().Add(10 * time.Second)
	for srv.Stats().Arrivals == 0 {
		if time.Now().After(deadline) {
			t.Fatal("first call never arrived")
		}
		time.Sleep(5 * time.Millisecond)
	}
	second := make(chan error, 1)
	go func() {
		_, err := stackPost(context.Background(), client, srv.URL, "m", 1)
		second <- err
	}()
	for tr.Limiter().Stats()[0].Queued == 0 {
		if time.Now().After(deadline) {
			t.Fatal("second call never queued")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-second:
		if !errors.Is(err, limiter.ErrClosed) {
			t.Errorf("queued call after Close: %v, want limiter.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not release the queued call")
	}
	if err := <-first; err != nil {
		t.Errorf("call in flight during Close: %v", err)
	}
}
