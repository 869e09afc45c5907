package transport

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// memVerdicts is an in-process BreakerVerdicts, standing in for Redis.
type memVerdicts struct {
	mu    sync.Mutex
	until map[string]time.Time
}

func (m *memVerdicts) OpenUntil(_ context.Context, key string) (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.until[key], nil
}

func (m *memVerdicts) Open(_ context.Context, key string, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if until.After(m.until[key]) {
		m.until[key] = until
	}
	return nil
}

func sharedBreakerPost(t *testing.T, rt http.RoundTripper, ctx context.Context, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{"model":"m"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if resp != nil {
		resp.Body.Close()
	}
	return resp, err
}

// A breaker opened in one "process" holds another's calls of the same key
// until the verdict ends; no call of the second reaches the server before,
// and the waiting one goes at that moment.
func TestSharedBreakerVerdictCrossesTransports(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var hits atomic.Int64
		var failing atomic.Bool
		failing.Store(true)
		srv := newPipeServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			if failing.Load() {
				w.WriteHeader(529)
				return
			}
			w.WriteHeader(200)
		}))
		base := srv.Transport(t)
		v := &memVerdicts{until: map[string]time.Time{}}
		settings := BreakerSettings{MinRequests: 2, FailureRatio: 0.5, Break: 400 * time.Millisecond, Shared: v}
		fast := settings
		fast.FailFast = true
		a := Breaker(base, settings)
		bFast := Breaker(base, fast)
		b := Breaker(base, settings)
		ctx := context.Background()

		for range 2 {
			sharedBreakerPost(t, a, ctx, srv.URL)
		}
		opened := time.Now()
		before := hits.Load()
		_, err := sharedBreakerPost(t, bFast, ctx, srv.URL)
		var boe *BreakerOpenError
		if !errors.As(err, &boe) || boe.Reason != "fail_fast" || !boe.RetryAt.Equal(opened.Add(400*time.Millisecond)) {
			t.Fatalf("fail-fast call during A's verdict: %v, want a fail_fast BreakerOpenError until the verdict's end", err)
		}
		failing.Store(false)
		resp, err := sharedBreakerPost(t, b, ctx, srv.URL)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("waiting call: %v %v", resp, err)
		}
		if el := time.Since(opened); el != 400*time.Millisecond {
			t.Fatalf("B's call went through %v after A opened, want when the 400ms verdict ended", el)
		}
		if n := hits.Load() - before; n != 1 {
			t.Fatalf("%d calls reached the server after A opened, want only B's one after the verdict", n)
		}
	})
}
