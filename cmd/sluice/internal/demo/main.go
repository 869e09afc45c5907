// Command demo is `make proxy-demo`: a fake provider (llmtest) with a tight
// quota and a few 529s and 500s, a `sluice proxy` in front of it, and the
// same burst from the official TypeScript SDK — first straight at the
// provider with the SDK's own retries, then through the proxy, changed only
// by its base URL — ending with what each saw. Without node and npm the
// burst comes from a plain Go HTTP client instead.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/sluicehq/sluice/cmd/sluice/internal/nodesdk"
	"github.com/sluicehq/sluice/cmd/sluice/internal/proxy"
	"github.com/sluicehq/sluice/llmtest"
)

const calls, workers = 150, 25

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

// outcome is one run of the burst.
type outcome struct {
	ok, failed int
	firstError string
	wall       time.Duration
	st         llmtest.Stats
}

func provider() *llmtest.Server {
	return llmtest.NewServer(llmtest.Config{
		Window: time.Second, // a compressed minute
		Quota:  llmtest.Quota{Requests: 30, InputTokens: 20000, OutputTokens: 2400, Tokens: 22000},
		Seed:   11,
		Faults: []llmtest.Fault{
			{Kind: llmtest.FaultStatus, Status: 529, Probability: 0.03},
			{Kind: llmtest.FaultStatus, Status: 500, Probability: 0.02},
		},
	})
}

func run() error {
	ctx := context.Background()
	burst, client, cleanup, err := burster(ctx)
	if err != nil {
		return err
	}
	defer cleanup()
	fmt.Printf("%d calls, %d at a time, from %s; the fake provider allows 30 requests per (compressed) minute of 1 s and answers 3 %% 529s, 2 %% 500s\n\n",
		calls, workers, client)

	bare := provider()
	fmt.Println("== the SDK alone, straight at the provider")
	alone := measure(bare, func() (int, int, string, error) { return burst(bare.URL) })
	bare.Close()

	srv := provider()
	defer srv.Close()
	url, stop, err := startProxy(ctx, srv.URL)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Printf("== the same SDK with its base URL at sluice proxy (%s)\n", url)
	through := measure(srv, func() (int, int, string, error) { return burst(url) })
	summarize(alone, through)
	return printMetrics(url)
}

// printMetrics reads the proxy's /metrics (Prometheus text) and prints
// what sluice did, by the label that says why.
func printMetrics(url string) error {
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	sums := map[string]map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		name, label, v, ok := sample(line)
		if !ok {
			continue
		}
		for _, m := range []struct{ metric, label string }{
			{"sluice_limiter_wait_duration_seconds_count", "sluice_limiter_reason"},
			{"sluice_retry_retries_total", "sluice_retry_reason"},
			{"gen_ai_client_token_usage_sum", "gen_ai_token_type"},
		} {
			if name == m.metric {
				if sums[name] == nil {
					sums[name] = map[string]float64{}
				}
				sums[name][labelValue(label, m.label)] += v
			}
		}
	}
	fmt.Println("\nwhat sluice did (from the proxy's /metrics):")
	fmt.Printf("  waits before sending, by reason: %s\n", joinSums(sums["sluice_limiter_wait_duration_seconds_count"]))
	fmt.Printf("  retries, by reason:              %s\n", joinSums(sums["sluice_retry_retries_total"]))
	fmt.Printf("  tokens metered, by type:         %s\n", joinSums(sums["gen_ai_client_token_usage_sum"]))
	return nil
}

// sample splits a Prometheus text line `name{labels} value`.
func sample(line string) (name, labels string, v float64, ok bool) {
	if line == "" || line[0] == '#' {
		return "", "", 0, false
	}
	i := strings.LastIndexByte(line, ' ')
	if i < 0 {
		return "", "", 0, false
	}
	if _, err := fmt.Sscan(line[i+1:], &v); err != nil {
		return "", "", 0, false
	}
	name = line[:i]
	if j := strings.IndexByte(name, '{'); j >= 0 {
		name, labels = name[:j], name[j:]
	}
	return name, labels, v, true
}

func labelValue(labels, key string) string {
	k := key + `="`
	i := strings.Index(labels, k)
	if i < 0 {
		return "?"
	}
	rest := labels[i+len(k):]
	return rest[:strings.IndexByte(rest, '"')]
}

func joinSums(m map[string]float64) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.0f", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func measure(srv *llmtest.Server, f func() (int, int, string, error)) outcome {
	start := time.Now()
	ok, failed, first, err := f()
	if err != nil {
		log.Fatal(err)
	}
	return outcome{ok: ok, failed: failed, firstError: first, wall: time.Since(start), st: srv.Stats()}
}

// burster returns the burst to run against a base URL: the TypeScript SDK
// when node and npm are there, else a Go HTTP client.
func burster(ctx context.Context) (func(url string) (int, int, string, error), string, func(), error) {
	if !nodesdk.Available() {
		fmt.Println("node and npm not found: the burst comes from Go's net/http, with no retries of its own")
		return goBurst, "Go's net/http", func() {}, nil
	}
	fmt.Printf("installing %s with npm…\n", strings.Join(nodesdk.Packages, " "))
	dir, err := nodesdk.Install(ctx)
	cleanup := func() { _ = os.RemoveAll(dir) }
	if err != nil {
		cleanup()
		return nil, "", nil, err
	}
	f := func(url string) (int, int, string, error) {
		r, err := nodesdk.Run(ctx, dir, url, "burst", "anthropic", fmt.Sprintf("CALLS=%d", calls), fmt.Sprintf("WORKERS=%d", workers))
		first := ""
		if len(r.Errors) > 0 {
			e := r.Errors[0]
			first = fmt.Sprintf("%s (%d): %s", e.Class, e.Status, e.Message)
		}
		return r.OK, r.Failed, first, err
	}
	return f, "the TypeScript SDK (@anthropic-ai/sdk, default retries; every third call streams)", cleanup, nil
}

func goBurst(url string) (int, int, string, error) {
	var mu sync.Mutex
	ok, failed, first := 0, 0, ""
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				err := goCall(url, i)
				mu.Lock()
				if err != nil {
					failed++
					if first == "" {
						first = err.Error()
					}
				} else {
					ok++
				}
				mu.Unlock()
			}
		})
	}
	for i := range calls {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return ok, failed, first, nil
}

func goCall(url string, i int) error {
	body := fmt.Sprintf(`{"model":"claude-demo","max_tokens":32,"messages":[{"role":"user","content":"%s"}]}`, strings.Repeat(fmt.Sprintf("call %d ", i), 5+i%40))
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/messages", strings.NewReader(body))
	req.Header.Set("x-api-key", "sk-ant-demo")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%d %.120s", resp.StatusCode, b)
	}
	return nil
}

// startProxy serves a sluice proxy in front of upstream on a free loopback
// port, with the limits' window compressed as the provider's is.
func startProxy(ctx context.Context, upstream string) (string, func(), error) {
	c := proxy.Defaults()
	c.AnthropicUpstream, c.OpenAIUpstream, c.Window = upstream, upstream, time.Second
	c.OTLP = false
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	s, err := proxy.New(ctx, c, logger, proxy.Deps{})
	if err != nil {
		return "", nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = s.Close()
		return "", nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	return "http://" + l.Addr().String(), func() { cancel(); <-done }, nil
}

func summarize(alone, through outcome) {
	fmt.Println()
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "\tSDK alone\tSDK → sluice proxy\t")
	row := func(name string, a, b any) { fmt.Fprintf(w, "%s\t%v\t%v\t\n", name, a, b) }
	row("calls that succeeded", alone.ok, through.ok)
	row("calls that failed", alone.failed, through.failed)
	row("wall time", alone.wall.Round(10*time.Millisecond), through.wall.Round(10*time.Millisecond))
	row("requests the API received", alone.st.Arrivals, through.st.Arrivals)
	row("429s the API served", alone.st.RateLimited, through.st.RateLimited)
	row("529s / 500s the API served", fmt.Sprintf("%d / %d", alone.st.ByStatus[529], alone.st.ByStatus[500]),
		fmt.Sprintf("%d / %d", through.st.ByStatus[529], through.st.ByStatus[500]))
	row("herd arrivals (before retry-after)", alone.st.HerdArrivals, through.st.HerdArrivals)
	_ = w.Flush()
	if alone.firstError != "" {
		fmt.Printf("\nfirst error the SDK alone raised: %.160s\n", alone.firstError)
	}
	if through.firstError != "" {
		fmt.Printf("first error through the proxy: %.160s\n", through.firstError)
	}
}
