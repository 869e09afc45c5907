// Command distributed shows several processes sharing one provider quota
// through Redis: it starts a redis-server (unless REDIS_ADDR names one), a
// fake provider (llmtest) with a small quota, and N worker processes — this
// same binary with -worker — that each push far more calls than the quota
// allows through sluice's Limit and Retry layers on one shared
// redisstore.Store. It then prints one summary: calls, 429s, throughput
// against the quota.
//
//	go run ./examples/distributed -workers 4 -calls 40
//
// Run with -kill-redis to kill Redis mid-run and restart it: the workers
// keep going on local limits and return to shared mode.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/sluicehq/sluice/limiter/redisstore/redistest"
	"github.com/sluicehq/sluice/llmtest"
)

func main() {
	var w workerFlags
	worker := flag.Bool("worker", false, "run as one worker (used by the demo itself)")
	w.register(flag.CommandLine)
	workers := flag.Int("workers", 4, "worker processes")
	rate := flag.Int("quota", 40, "requests per window the fake provider allows")
	kill := flag.Bool("kill-redis", false, "kill Redis once a quarter of the calls are done, restart it at half")
	flag.Parse()
	if *worker {
		r := runWorker(context.Background(), w)
		_ = json.NewEncoder(os.Stdout).Encode(r)
		return
	}
	if err := demo(w, *workers, *rate, *kill); err != nil {
		log.Fatal(err)
	}
}

func demo(w workerFlags, workers, quota int, kill bool) error {
	var rs *redistest.Server
	if w.Redis = os.Getenv("REDIS_ADDR"); w.Redis == "" {
		var err error
		if rs, err = redistest.Run(); err != nil {
			return fmt.Errorf("no REDIS_ADDR and cannot start redis-server: %w", err)
		}
		defer rs.Close()
		w.Redis = rs.Addr()
	}
	srv := llmtest.NewServer(llmtest.Config{Window: w.Window, Quota: llmtest.Quota{Requests: quota}, RetryAfterMs: true})
	defer srv.Close()
	w.URL = srv.URL
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Printf("redis %s, provider %s: %d workers × %d calls, quota %d requests per %v\n",
		w.Redis, srv.URL, workers, w.Calls, quota, w.Window)
	if kill && rs != nil {
		go chaos(srv, rs, int64(workers*w.Calls))
	}
	start := time.Now()
	results, err := Spawn(context.Background(), exe, workers, w)
	if err != nil {
		return err
	}
	sum := Summarize(results, srv.Stats(), quota, w.Window)
	fmt.Printf("done in %v\n%s", time.Since(start).Round(time.Millisecond), sum)
	return nil
}

// chaos kills Redis at a quarter of the calls and restarts it at half.
func chaos(srv *llmtest.Server, rs *redistest.Server, total int64) {
	for srv.Stats().Completed < total/4 {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println("killing redis")
	rs.Kill()
	for srv.Stats().Completed < total/2 {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println("restarting redis")
	if err := rs.Restart(); err != nil {
		log.Print(err)
	}
}

// Spawn runs n worker processes of exe with w and returns their results.
func Spawn(ctx context.Context, exe string, n int, w workerFlags) ([]Result, error) {
	results := make([]Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			wi := w
			wi.ID = i
			cmd := exec.CommandContext(ctx, exe, append([]string{"-worker"}, wi.args()...)...)
			cmd.Stderr = os.Stderr
			out, err := cmd.Output()
			if err != nil {
				errs[i] = fmt.Errorf("worker %d: %w", i, err)
				return
			}
			sc := bufio.NewScanner(bytes.NewReader(out))
			var last []byte
			for sc.Scan() {
				last = append(last[:0], sc.Bytes()...)
			}
			if err := json.Unmarshal(last, &results[i]); err != nil {
				errs[i] = fmt.Errorf("worker %d: bad result %q: %w", i, out, err)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return results, err
		}
	}
	return results, nil
}

// Summary is the fleet's aggregate.
type Summary struct {
	Calls, OK, Failed  int
	Arrivals, Limited  int64 // at the provider
	Span               time.Duration
	Offered, Ratio     float64 // requests the quota allowed in Span, and OK / Offered
	Fallbacks          int64
	MaxCall            time.Duration
	AllShared, AnyLeak bool
}

// Summarize aggregates the workers' results with the provider's counters.
// Offered is what the quota allowed while the fleet ran: the full bucket at
// the start plus its refill over the span from the first worker's first
// call to the last worker's last answer.
func Summarize(rs []Result, st llmtest.Stats, quota int, window time.Duration) Summary {
	s := Summary{Arrivals: st.Arrivals, Limited: st.RateLimited, AllShared: true}
	var first, last time.Time
	for _, r := range rs {
		s.Calls += r.Calls
		s.OK += r.OK
		s.Failed += r.Failed
		s.Fallbacks += r.Fallbacks
		s.MaxCall = max(s.MaxCall, r.MaxCall)
		s.AllShared = s.AllShared && r.Shared
		s.AnyLeak = s.AnyLeak || r.Leak != ""
		if first.IsZero() || r.Start.Before(first) {
			first = r.Start
		}
		if r.End.After(last) {
			last = r.End
		}
	}
	s.Span = last.Sub(first)
	s.Offered = float64(quota) + float64(quota)*s.Span.Seconds()/window.Seconds()
	s.Ratio = float64(s.OK) / s.Offered
	return s
}

func (s Summary) String() string {
	return fmt.Sprintf("calls %d: ok %d, failed %d; provider saw %d arrivals, %d 429s (%.2f%%)\n"+
		"throughput %.1f%% of the quota over %v; slowest call %v; local-mode operations %d; all back to shared mode: %v\n",
		s.Calls, s.OK, s.Failed, s.Arrivals, s.Limited, 100*float64(s.Limited)/float64(max(s.Arrivals, 1)),
		100*s.Ratio, s.Span.Round(time.Millisecond), s.MaxCall.Round(time.Millisecond), s.Fallbacks, s.AllShared)
}
