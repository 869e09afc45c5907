package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluicehq/sluice/limiter/redisstore/redistest"
	"github.com/sluicehq/sluice/llmtest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// buildDriver builds this program once per test: the workers are separate
// OS processes, not goroutines.
func buildDriver(t *testing.T) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "driver")
	out, err := exec.Command("go", "build", "-o", exe, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return exe
}

func spawn(t *testing.T, exe string, n int, w workerFlags) []Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rs, err := Spawn(ctx, exe, n, w)
	if err != nil {
		t.Error(err) // not Fatal: spawn also runs on goroutines of the test
		return nil
	}
	for _, r := range rs {
		if r.Failed > 0 {
			t.Errorf("worker %d: %d of %d calls failed: %v", r.ID, r.Failed, r.Calls, r.Errors)
		}
		if r.Leak != "" {
			t.Errorf("worker %d leaked goroutines: %s", r.ID, r.Leak)
		}
		if r.MaxCall >= w.Timeout {
			t.Errorf("worker %d: a call took %v, past its %v deadline", r.ID, r.MaxCall, w.Timeout)
		}
	}
	return rs
}

// Four processes share a quota of 40 requests a second while demanding 32 in
// flight: together they must use the quota without exceeding it.
func TestFourProcessesShareOneQuota(t *testing.T) {
	rs := redistest.Start(t)
	exe := buildDriver(t)
	const quota = 40
	srv := llmtest.NewServer(llmtest.Config{Window: time.Second, Quota: llmtest.Quota{Requests: quota}, RetryAfterMs: true})
	defer srv.Close()
	w := workerFlags{Redis: rs.Addr(), URL: srv.URL, Calls: 50, Concurrency: 8, Window: time.Second,
		Replicas: 4, Timeout: 30 * time.Second, Cap: quota}
	results := spawn(t, exe, 4, w)
	sum := Summarize(results, srv.Stats(), quota, time.Second)
	t.Logf("%s", sum)
	if sum.OK != 200 {
		t.Errorf("%d calls succeeded, want all 200", sum.OK)
	}
	if sum.Limited*100 > sum.Arrivals {
		t.Errorf("%d of %d arrivals got 429: more than 1%%", sum.Limited, sum.Arrivals)
	}
	if sum.Ratio < 0.9 {
		t.Errorf("throughput %.1f%% of the quota, want at least 90%%", 100*sum.Ratio)
	}
	if sum.Ratio > 1.05 {
		t.Errorf("throughput %.1f%% of the quota: the fleet exceeded it", 100*sum.Ratio)
	}
	if sum.Fallbacks != 0 {
		t.Errorf("%d operations fell back to local limits with Redis up", sum.Fallbacks)
	}
}

// Killing Redis mid-run leaves every call succeeding on local limits; once
// it is back, every worker returns to shared mode.
func TestRedisKilledMidRun(t *testing.T) {
	rs := redistest.Start(t)
	exe := buildDriver(t)
	const quota = 40
	srv := llmtest.NewServer(llmtest.Config{Window: time.Second, Quota: llmtest.Quota{Requests: quota}, RetryAfterMs: true})
	defer srv.Close()
	w := workerFlags{Redis: rs.Addr(), URL: srv.URL, Calls: 60, Concurrency: 8, Window: time.Second,
		Replicas: 4, Timeout: 30 * time.Second, Cap: quota}
	done := make(chan []Result)
	go func() { done <- spawn(t, exe, 4, w) }()
	waitCompleted := func(n int64) {
		deadline := time.Now().Add(time.Minute)
		for srv.Stats().Completed < n {
			if time.Now().After(deadline) {
				t.Errorf("timed out waiting for %d completed calls", n)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitCompleted(60)
	rs.Kill()
	waitCompleted(100)
	if err := rs.Restart(); err != nil {
		t.Fatal(err)
	}
	// A worker can return to shared mode only if it still runs once its
	// store's probe (every 100 ms) has seen Redis back: judge those that
	// ran a second past the restart. On a loaded machine a worker may
	// finish its share before that; the 140 calls left take 3.5 s at the
	// quota, so most run on.
	back := time.Now().Add(time.Second)
	results := <-done
	sum := Summarize(results, srv.Stats(), quota, time.Second)
	t.Logf("%s", sum)
	if sum.OK != 240 {
		t.Errorf("%d calls succeeded, want all 240", sum.OK)
	}
	judged := 0
	for _, r := range results {
		if r.Fallbacks == 0 {
			t.Errorf("worker %d never used local limits while Redis was dead", r.ID)
		}
		if r.End.After(back) {
			judged++
			if !r.Shared {
				t.Errorf("worker %d ran %v past Redis's return and did not return to shared mode", r.ID, r.End.Sub(back)+time.Second)
			}
		}
	}
	if judged < 2 {
		t.Errorf("%d workers ran a second past Redis's return, want at least 2 to judge", judged)
	}
}

// A 429 seen by process A stops process B: B's request waits for the
// cool-down A stored in Redis instead of arriving before the retry-after.
func TestCooldownCrossesProcesses(t *testing.T) {
	rs := redistest.Start(t)
	exe := buildDriver(t)
	srv := llmtest.NewServer(llmtest.Config{Window: time.Second})
	defer srv.Close()
	srv.Inject(llmtest.Fault{Kind: llmtest.FaultStatus, Status: 429, RetryAfter: "2"})
	w := workerFlags{Redis: rs.Addr(), URL: srv.URL, Calls: 1, Concurrency: 1, Window: time.Second,
		Replicas: 2, Timeout: 30 * time.Second}

	a := make(chan []Result)
	wa := w // process A's flags; B's are changed below while A runs
	go func() { a <- spawn(t, exe, 1, wa) }()
	deadline := time.Now().Add(30 * time.Second)
	for srv.Stats().RateLimited == 0 {
		if time.Now().After(deadline) {
			t.Fatal("process A never got its 429")
		}
		time.Sleep(5 * time.Millisecond)
	}
	w.ID = 1
	bStart := time.Now()
	b := spawn(t, exe, 1, w)
	<-a
	if len(b) == 0 {
		t.FailNow()
	}
	st := srv.Stats()
	if st.HerdArrivals != 0 {
		t.Errorf("HerdArrivals = %d: a process reached the provider before the retry-after", st.HerdArrivals)
	}
	if st.Completed != 2 || st.RateLimited != 1 {
		t.Errorf("stats %+v, want 2 completed after one 429", st)
	}
	// B started inside A's two-second cool-down and had to wait for it.
	if el := b[0].End.Sub(bStart); el < 500*time.Millisecond {
		t.Errorf("process B finished in %v: it did not wait for A's cool-down", el)
	}
}
