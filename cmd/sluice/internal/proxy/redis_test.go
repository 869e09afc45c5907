package proxy

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/cmd/sluice/internal/nodesdk"
	"github.com/sluicehq/sluice/limiter/redisstore/redistest"
	"github.com/sluicehq/sluice/llmtest"
)

// Two proxies with --redis, each taking half of a TypeScript SDK burst at
// once, spend one quota: no call fails and at most 1 % of what reaches the
// provider is a 429, as with one proxy.
func TestTwoProxiesOneRedisTypeScriptBurst(t *testing.T) {
	rs := redistest.Start(t)
	dir := nodeSDKs(t)
	for _, sdk := range []string{"anthropic", "openai"} {
		t.Run(sdk, func(t *testing.T) {
			srv := llmtest.NewServer(burstConfig())
			defer srv.Close()
			c := testConfig(srv.URL)
			c.Redis, c.Replicas = rs.Addr(), 2
			p1, p2 := startProxy(t, c), startProxy(t, c)
			var wg sync.WaitGroup
			results := make([]nodesdk.Result, 2)
			errs := make([]error, 2)
			for i, p := range []*running{p1, p2} {
				wg.Go(func() { results[i], errs[i] = execNode(dir, p.URL, "burst", sdk, "CALLS=75", "WORKERS=13") })
			}
			wg.Wait()
			st := srv.Stats()
			for i, r := range results {
				if errs[i] != nil {
					t.Fatal(errs[i])
				}
				if r.Failed != 0 || r.OK != 75 {
					t.Errorf("proxy %d: %d ok, %d failed: %+v", i+1, r.OK, r.Failed, r.Errors)
				}
			}
			t.Logf("upstream: arrivals %d, 429s %d, 529s %d, 500s %d, herd %d", st.Arrivals, st.RateLimited, st.ByStatus[529], st.ByStatus[500], st.HerdArrivals)
			if st.RateLimited*100 > st.Arrivals {
				t.Errorf("%d 429s served of %d arrivals, want at most 1 %%", st.RateLimited, st.Arrivals)
			}
			for i, p := range []*running{p1, p2} {
				if !p.server.store.store.Shared() {
					t.Errorf("proxy %d fell back to local limits", i+1)
				}
			}
		})
	}
}

// With an explicit limit of 20 requests per second, 100 calls split over two
// proxies that share Redis take at least (100-20)/20 = 4 s: one quota. Two
// quotas (each proxy its own 20 per second) would let them through in
// (50-20)/20 = 1.5 s.
func TestTwoProxiesOneRedisOneQuota(t *testing.T) {
	rs := redistest.Start(t)
	srv := llmtest.NewServer(llmtest.Config{})
	defer srv.Close()
	c := testConfig(srv.URL)
	c.Redis, c.Replicas, c.Requests = rs.Addr(), 2, 20
	ps := []*running{startProxy(t, c), startProxy(t, c)}
	const calls = 100
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	for i := range calls {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, ps[i%2].URL+"/v1/messages",
				strings.NewReader(`{"model":"claude-shared","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`))
			req.Header.Set("x-api-key", anthropicKey)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			if err != nil || resp.StatusCode != 200 {
				mu.Lock()
				failed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("%d calls through two proxies in %v (one quota: ≥ 4 s; two: ~1.5 s)", calls, elapsed.Round(time.Millisecond))
	if failed != 0 {
		t.Errorf("%d calls failed", failed)
	}
	if elapsed < 3*time.Second {
		t.Errorf("%d calls took %v: the proxies spent two quotas", calls, elapsed)
	}
}
