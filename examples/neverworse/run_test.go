package neverworse

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"

	"github.com/sluicehq/sluice/limiter"
	"github.com/sluicehq/sluice/llmtest"
	"github.com/sluicehq/sluice/transport"
)

// clients are the real SDKs of one set-up.
type clients struct {
	anthropic anthropic.Client
	openai    openai.Client
}

func (c *clients) message(ctx context.Context, stream bool, p anthropic.MessageNewParams) error {
	if !stream {
		_, err := c.anthropic.Messages.New(ctx, p)
		return err
	}
	s := c.anthropic.Messages.NewStreaming(ctx, p)
	defer s.Close()
	for s.Next() {
	}
	return s.Err()
}

func (c *clients) chat(ctx context.Context, stream bool, p openai.ChatCompletionNewParams) error {
	if !stream {
		_, err := c.openai.Chat.Completions.New(ctx, p)
		return err
	}
	s := c.openai.Chat.Completions.NewStreaming(ctx, p)
	defer s.Close()
	for s.Next() {
	}
	return s.Err()
}

// result is one run of a scenario under one set-up.
type result struct {
	failed   int64
	firstErr error
	wall     time.Duration
	minimum  time.Duration // what the quota allows at best; 0 without one
	st       llmtest.Stats
	seeds    []result // each seed's own, when run adds several up
}

// run plays s once per seed (s.seeds, at least one) and adds up the
// results: bare is the SDK alone with 4 retries on its own transport;
// otherwise transport.New(nil) with a limiter told the window, with the
// SDK's retries off as documented. A scenario of random faults is played
// with several seeds because one seed's faults fall where they fall: the
// last call left may meet a run of them that decides the wall time alone.
func run(s scenario, bare bool) result {
	var sum result
	for k := range max(s.seeds, 1) {
		cfg := s.cfg
		cfg.Seed += int64(k)
		r := runSeed(s, cfg, bare)
		sum.seeds = append(sum.seeds, r)
		if sum.firstErr == nil {
			sum.firstErr = r.firstErr
		}
		sum.failed += r.failed
		sum.wall += r.wall
		sum.minimum += r.minimum
		sum.st.Arrivals += r.st.Arrivals
		sum.st.RateLimited += r.st.RateLimited
		sum.st.HerdArrivals += r.st.HerdArrivals
	}
	return sum
}

// runSeed plays s once against a fake API configured by cfg.
func runSeed(s scenario, cfg llmtest.Config, bare bool) result {
	srv := llmtest.NewServer(cfg)
	defer srv.Close()
	if s.prepare != nil {
		s.prepare(srv)
	}
	var (
		rt      http.RoundTripper
		retries = 0
	)
	if bare {
		base := http.DefaultTransport.(*http.Transport).Clone()
		defer base.CloseIdleConnections()
		rt, retries = base, 4
	} else {
		lim := limiter.New(limiter.WithWindow(window))
		defer lim.Close()
		tr := transport.New(nil, transport.WithLimit(transport.LimitSettings{Limiter: lim}),
			transport.WithLogger(slog.New(slog.DiscardHandler)))
		defer tr.Close()
		rt = tr
	}
	hc := &http.Client{Transport: rt}
	c := &clients{
		anthropic: anthropic.NewClient(aoption.WithBaseURL(srv.URL), aoption.WithAPIKey("sk-ant-neverworse"),
			aoption.WithHTTPClient(hc), aoption.WithMaxRetries(retries), aoption.WithoutOpenTelemetry()),
		openai: openai.NewClient(ooption.WithBaseURL(srv.URL+"/v1/"), ooption.WithAPIKey("sk-neverworse"),
			ooption.WithHTTPClient(hc), ooption.WithMaxRetries(retries)),
	}

	var (
		r       result
		mu      sync.Mutex
		next    atomic.Int64
		wg      sync.WaitGroup
		failed  atomic.Int64
		started = time.Now()
	)
	for range s.workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < s.calls; i = int(next.Add(1) - 1) {
				ctx, cancel := context.WithTimeout(context.Background(), callDeadline)
				err := s.call(ctx, c, i)
				cancel()
				if err != nil {
					failed.Add(1)
					mu.Lock()
					if r.firstErr == nil {
						r.firstErr = err
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	r.wall = time.Since(started)
	r.failed = failed.Load()
	r.st = srv.Stats()
	r.minimum = minimum(cfg.Quota, r.st)
	return r
}

// minimum is the least time the server's own counting allows for what it
// served: for each bucket, what was charged beyond a full bucket, at the
// bucket's rate of one capacity per window.
func minimum(q llmtest.Quota, st llmtest.Stats) time.Duration {
	need := func(charged int64, capacity int) time.Duration {
		if capacity <= 0 || charged <= int64(capacity) {
			return 0
		}
		return time.Duration(float64(charged-int64(capacity)) / float64(capacity) * float64(window))
	}
	return max(need(st.Completed, q.Requests),
		need(st.InputTokens+st.CacheCreationTokens, q.InputTokens),
		need(st.OutputTokens, q.OutputTokens),
		need(st.InputTokens+st.OutputTokens, q.Tokens))
}
