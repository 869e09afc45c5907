package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sluicehq/sluice/limiter"
	"github.com/sluicehq/sluice/limiter/redisstore"
	"github.com/sluicehq/sluice/telemetry"
	"github.com/sluicehq/sluice/transport"
	"go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"
)

// workerFlags configure one worker process.
type workerFlags struct {
	ID          int
	Redis, URL  string
	Calls       int
	Concurrency int
	Window      time.Duration
	Replicas    int
	Timeout     time.Duration
	Cap         int64
}

func (w *workerFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&w.ID, "id", 0, "worker number")
	fs.StringVar(&w.Redis, "redis", "", "Redis address")
	fs.StringVar(&w.URL, "url", "", "provider base URL")
	fs.IntVar(&w.Calls, "calls", 40, "calls per worker")
	fs.IntVar(&w.Concurrency, "concurrency", 8, "calls in flight per worker")
	fs.DurationVar(&w.Window, "window", time.Second, "the provider's limit window (compressed)")
	fs.IntVar(&w.Replicas, "replicas", 4, "expected replicas: the local share while Redis is down")
	fs.DurationVar(&w.Timeout, "timeout", 20*time.Second, "deadline of each call")
	fs.Int64Var(&w.Cap, "cap", 0, "explicit requests limit per window (0: learn it from the headers)")
}

func (w workerFlags) args() []string {
	return []string{"-id", strconv.Itoa(w.ID), "-redis", w.Redis, "-url", w.URL,
		"-calls", strconv.Itoa(w.Calls), "-concurrency", strconv.Itoa(w.Concurrency),
		"-window", w.Window.String(), "-replicas", strconv.Itoa(w.Replicas),
		"-timeout", w.Timeout.String(), "-cap", strconv.FormatInt(w.Cap, 10)}
}

// Result is what a worker prints, as one JSON line, when it ends.
type Result struct {
	ID, Calls, OK, Failed int
	Errors                []string // the first few failures
	Start, End            time.Time
	MaxCall               time.Duration // the slowest call, waits and retries included
	Fallbacks             int64         // store operations served locally
	Shared                bool          // the store was in shared mode at the end
	Leak                  string        // goroutines left after shutdown
}

// runWorker sends w.Calls Anthropic Messages calls, w.Concurrency at a time,
// through Retry → Limit → HTTP with the limiter's buckets in Redis.
func runWorker(ctx context.Context, w workerFlags) Result {
	// The store logs Redis outages once; go-redis would log every failed
	// dial of the outage.
	redis.SetLogger(quietLogger{})
	reader := metric.NewManualReader()
	mp := metric.NewMeterProvider(metric.WithReader(reader))
	rdb := redis.NewClient(&redis.Options{Addr: w.Redis, ContextTimeoutEnabled: true})
	st := redisstore.New(rdb, redisstore.WithReplicas(w.Replicas),
		redisstore.WithProbeInterval(100*time.Millisecond),
		redisstore.WithTelemetry(telemetry.WithMeterProvider(mp)))
	lopts := []limiter.Option{limiter.WithStore(st), limiter.WithWindow(w.Window)}
	if w.Cap > 0 {
		lopts = append(lopts, limiter.WithLimits(limiter.Limits{Requests: w.Cap}))
	}
	lim := limiter.New(lopts...)
	base := http.DefaultTransport.(*http.Transport).Clone()
	tel := transport.WithTelemetry(telemetry.WithMeterProvider(mp))
	client := &http.Client{Transport: transport.Retry(
		transport.Limit(base, transport.LimitSettings{Limiter: lim}, tel),
		transport.RetrySettings{MaxAttempts: 20, BudgetRatio: -1}, tel)} // BudgetRatio -1: no retry budget

	r := Result{ID: w.ID, Calls: w.Calls, Start: time.Now()}
	var mu sync.Mutex
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range w.Concurrency {
		wg.Go(func() {
			for i := range jobs {
				t0 := time.Now()
				err := call(ctx, client, w, i)
				d := time.Since(t0)
				mu.Lock()
				r.MaxCall = max(r.MaxCall, d)
				if err != nil {
					r.Failed++
					if len(r.Errors) < 5 {
						r.Errors = append(r.Errors, err.Error())
					}
				} else {
					r.OK++
				}
				mu.Unlock()
			}
		})
	}
	for i := range w.Calls {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	r.End = time.Now()
	r.Shared = st.Shared()
	r.Fallbacks = counter(ctx, reader, telemetry.MetricRedisStoreFallbacks)

	base.CloseIdleConnections()
	lim.Close()
	st.Close()
	rdb.Close()
	_ = mp.Shutdown(ctx)
	if err := goleak.Find(); err != nil {
		r.Leak = err.Error()
	}
	return r
}

// call sends one small Messages request and reads the answer.
func call(ctx context.Context, c *http.Client, w workerFlags, i int) error {
	ctx, cancel := context.WithTimeout(ctx, w.Timeout)
	defer cancel()
	body := fmt.Sprintf(`{"model":"claude-demo","max_tokens":16,"messages":[{"role":"user","content":"worker %d call %d"}]}`, w.ID, i)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL+"/v1/messages", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("x-api-key", "sk-ant-demo-shared-key")
	req.Header.Set("anthropic-version", "2023-06-01")
	req.Header.Set("content-type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

func counter(ctx context.Context, rd *metric.ManualReader, name string) int64 {
	var rm metricdata.ResourceMetrics
	if rd.Collect(ctx, &rm) != nil {
		return 0
	}
	var n int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if s, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == name {
				for _, dp := range s.DataPoints {
					n += dp.Value
				}
			}
		}
	}
	return n
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}
