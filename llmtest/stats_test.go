package llmtest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestHerdArrivals tells the story of a client that ignores retry-after: it
// is rate limited, comes straight back (a herd arrival), then waits the
// announced time and is admitted without counting as herd.
func TestHerdArrivals(t *testing.T) {
	synctest.Test(t, testHerdArrivals)
}

func testHerdArrivals(t *testing.T) {
	s := newPipeServer(t, Config{Quota: Quota{Requests: 2}, Window: time.Second, RetryAfterMs: true})
	body := anthropicBody("m", "hi", 5, false)
	post(t, s, "/v1/messages", "k", body)
	post(t, s, "/v1/messages", "k", body)
	res, _ := post(t, s, "/v1/messages", "k", body) // 429
	if res.StatusCode != 429 {
		t.Fatalf("third request: %d", res.StatusCode)
	}
	// One request refills in 500 ms.
	if ms := res.Header.Get("retry-after-ms"); ms != "500" {
		t.Fatalf("retry-after-ms = %q, want 500", ms)
	}
	if res.Header.Get("retry-after") != "1" {
		t.Errorf("retry-after = %q, want 1 (rounded up)", res.Header.Get("retry-after"))
	}
	post(t, s, "/v1/messages", "other", body) // another key is not herd
	post(t, s, "/v1/messages", "k", body)     // too early: herd
	if st := s.Stats(); st.HerdArrivals != 1 {
		t.Fatalf("herd arrivals = %d, want 1", st.HerdArrivals)
	}
	time.Sleep(500 * time.Millisecond) // the announced moment
	res, _ = post(t, s, "/v1/messages", "k", body)
	if st := s.Stats(); st.HerdArrivals != 1 || res.StatusCode != 200 {
		t.Errorf("after waiting: status %d, herd %d", res.StatusCode, st.HerdArrivals)
	}
}

// 20 % of 10 requests a second: 2 at the start, then one every 100 ms,
// announced as retry-after: 1 (whole seconds, rounded up).
func TestRefillWithCompressedWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newPipeServer(t, Config{Quota: Quota{Requests: 10}, Window: time.Second, InitialFill: 0.2})
		body := anthropicBody("m", "hi", 5, false)
		var ok int
		for range 5 {
			if res, _ := post(t, s, "/v1/messages", "k", body); res.StatusCode == 200 {
				ok++
			}
		}
		if ok != 2 {
			t.Errorf("%d of 5 admitted with 20%% initial fill of 10/s; want 2", ok)
		}
		res, _ := post(t, s, "/v1/messages", "k", body)
		if res.StatusCode != 429 || res.Header.Get("retry-after") != "1" {
			t.Fatalf("with the bucket empty: %d, retry-after %q; want 429, 1", res.StatusCode, res.Header.Get("retry-after"))
		}
		time.Sleep(99 * time.Millisecond)
		if res, _ := post(t, s, "/v1/messages", "k", body); res.StatusCode != 429 {
			t.Errorf("1 ms before a request refilled: %d, want 429", res.StatusCode)
		}
		time.Sleep(time.Millisecond)
		if res, _ := post(t, s, "/v1/messages", "k", body); res.StatusCode != 200 {
			t.Errorf("100 ms later: %d, want 200", res.StatusCode)
		}
	})
}

func TestRequestsRecordBodies(t *testing.T) {
	s := newTestServer(t, Config{})
	body := anthropicBody("claude-x", "replay me", 5, true)
	for i := range 2 {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/v1/messages", bytes.NewReader(body))
		req.Header.Set("x-api-key", "secret")
		req.Header.Set("X-Stainless-Retry-Count", strconv.Itoa(i))
		res, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	reqs := s.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	for i, r := range reqs {
		if r.BodySHA256 != sha256.Sum256(body) || r.Model != "claude-x" || !r.Stream || r.Status != 200 ||
			r.RetryCount != strconv.Itoa(i) || r.KeyFingerprint == "" || r.KeyFingerprint == "secret" || r.Path != "/v1/messages" {
			t.Errorf("request %d = %+v", i, r)
		}
	}
	s.ResetStats()
	if st := s.Stats(); st.Arrivals != 0 || len(s.Requests()) != 0 {
		t.Errorf("after reset: %+v", st)
	}
}

// Twenty calls at once, each held 200 ms by the latency before admission:
// all twenty are in flight together, half are admitted, and all are done
// 200 ms later.
func TestConcurrency(t *testing.T) {
	synctest.Test(t, testConcurrency)
}

func testConcurrency(t *testing.T) {
	s := newPipeServer(t, Config{Latency: 200 * time.Millisecond, Quota: Quota{Requests: 10}})
	start := time.Now()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			res, err := s.Client().Post(s.URL+"/v1/messages", "application/json", bytes.NewReader(anthropicBody("m", "hi", 5, false)))
			if err == nil {
				res.Body.Close()
			}
		})
	}
	wg.Wait()
	st := s.Stats()
	if st.Arrivals != 20 || st.ByStatus[200] != 10 || st.RateLimited != 10 || st.InFlight != 0 {
		t.Errorf("stats = %+v", st)
	}
	if st.PeakConcurrency != 20 {
		t.Errorf("peak concurrency = %d, want 20", st.PeakConcurrency)
	}
	if d := time.Since(start); d != 200*time.Millisecond {
		t.Errorf("done after %v, want 200ms", d)
	}
}

func TestCountTokens(t *testing.T) {
	for in, want := range map[string]int{"": 0, "a": 1, "abcd": 1, "abcde": 2, "héllo": 2, "12345678": 2} {
		if got := CountTokens(in); got != want {
			t.Errorf("CountTokens(%q) = %d, want %d", in, got, want)
		}
	}
}

// Requests keeps at most MaxRecorded arrivals, the newest; the counters
// stay exact.
func TestMaxRecordedBoundsRequests(t *testing.T) {
	s := newTestServer(t, Config{MaxRecorded: 10})
	for i := range 25 {
		res, _ := post(t, s, "/v1/messages", "k", anthropicBody(fmt.Sprintf("model-%d", i), "hi", 5, false))
		if res.StatusCode != 200 {
			t.Fatalf("status %d", res.StatusCode)
		}
	}
	reqs, st := s.Requests(), s.Stats()
	if len(reqs) > 10 || len(reqs) < 5 || st.Arrivals != 25 || st.Forgotten+int64(len(reqs)) != 25 {
		t.Fatalf("%d recorded, stats %+v", len(reqs), st)
	}
	for i, r := range reqs { // the newest, in order
		if want := fmt.Sprintf("model-%d", 25-len(reqs)+i); r.Model != want {
			t.Fatalf("request %d is %s, want %s", i, r.Model, want)
		}
	}
}
