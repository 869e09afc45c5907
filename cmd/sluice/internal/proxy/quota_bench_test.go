package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/llmtest"
)

// The quota scenario of the gateway comparison: quotaCalls Messages calls,
// quotaWorkers at a time, from a plain HTTP client with no retries of its
// own, through a gateway to an llmtest server whose quota allows 30
// requests per second (a compressed minute) and that answers 3 % 529s and
// 2 % 500s. Each gateway is configured as a careful user would: sluice
// proxy with its defaults (the window set to the compressed minute); the
// Portkey gateway retrying 429 and 5xx four times, honouring retry-after.
const (
	quotaCalls   = 300
	quotaWorkers = 30
	portkeyPkg   = "@portkey-ai/gateway@1.15.2"
	portkeyAddr  = "127.0.0.1:8787" // Portkey listens there whatever --port says
)

func quotaServer() *llmtest.Server {
	return llmtest.NewServer(llmtest.Config{
		Window: time.Second,
		Quota:  llmtest.Quota{Requests: 30, InputTokens: 40000, OutputTokens: 8000},
		Seed:   5,
		Faults: []llmtest.Fault{
			{Kind: llmtest.FaultStatus, Status: 529, Probability: 0.03},
			{Kind: llmtest.FaultStatus, Status: 500, Probability: 0.02},
		},
	})
}

// BenchmarkProxyQuota runs the quota scenario through sluice proxy and, when
// npm can install it, the Portkey gateway, and reports for each: failed
// calls, 429s served by the provider, herd arrivals (calls arriving before
// the retry-after they were given), and wall time. One iteration is the
// whole scenario: run it with -benchtime=1x.
func BenchmarkProxyQuota(b *testing.B) {
	b.Run("sluice", func(b *testing.B) {
		for range b.N {
			srv := quotaServer()
			c := Defaults()
			c.AnthropicUpstream, c.OpenAIUpstream, c.Window, c.OTLP = srv.URL, srv.URL, time.Second, false
			s, err := New(context.Background(), c, slog.New(slog.DiscardHandler), Deps{})
			if err != nil {
				b.Fatal(err)
			}
			url := serveBench(b, s.http.Handler)
			reportQuota(b, srv, runQuota(url, nil))
			_ = s.Close()
			srv.Close()
		}
	})
	b.Run("portkey", func(b *testing.B) {
		stop, err := startPortkey(b)
		if err != nil {
			b.Skip(err)
		}
		defer stop()
		for range b.N {
			srv := quotaServer()
			h := map[string]string{
				"x-portkey-provider":    "anthropic",
				"x-portkey-custom-host": srv.URL + "/v1",
				"x-portkey-config":      `{"retry":{"attempts":4,"on_status_codes":[429,500,502,503,529],"use_retry_after_header":true}}`,
			}
			reportQuota(b, srv, runQuota("http://"+portkeyAddr, h))
			srv.Close()
		}
	})
}

type quotaResult struct {
	failed int
	wall   time.Duration
	first  string // the first failure
}

func runQuota(base string, headers map[string]string) quotaResult {
	c := &http.Client{Transport: benchTransport(), Timeout: 2 * time.Minute}
	defer c.CloseIdleConnections()
	var failed atomic.Int64
	var first sync.Once
	var r quotaResult
	jobs := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range quotaWorkers {
		wg.Go(func() {
			for i := range jobs {
				if err := quotaCall(c, base, headers, i); err != nil {
					failed.Add(1)
					first.Do(func() { r.first = err.Error() })
				}
			}
		})
	}
	for i := range quotaCalls {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	r.wall, r.failed = time.Since(start), int(failed.Load())
	return r
}

func quotaCall(c *http.Client, base string, headers map[string]string, i int) error {
	body := fmt.Sprintf(`{"model":"claude-quota","max_tokens":32,"messages":[{"role":"user","content":"%s"}]}`, strings.Repeat(fmt.Sprintf("call %d ", i), 10+i%30))
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/messages", strings.NewReader(body))
	req.Header.Set("x-api-key", "sk-ant-quota")
	req.Header.Set("anthropic-version", "2023-06-01")
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d: %.200s", resp.StatusCode, b)
	}
	return nil
}

func reportQuota(b *testing.B, srv *llmtest.Server, r quotaResult) {
	st := srv.Stats()
	b.ReportMetric(float64(r.failed), "failed")
	b.ReportMetric(float64(st.RateLimited), "429s")
	b.ReportMetric(float64(st.HerdArrivals), "herd")
	b.ReportMetric(float64(st.Arrivals), "arrivals")
	b.ReportMetric(r.wall.Seconds(), "wall-s")
	if r.first != "" {
		b.Logf("first failure: %s", r.first)
	}
}

// startPortkey installs the Portkey gateway with npm into a temporary
// directory and starts it on 127.0.0.1:8787 (it binds every interface;
// only loopback traffic is sent to it). It returns an error, for a skip,
// when npm is missing or the port is taken.
func startPortkey(b *testing.B) (stop func(), err error) {
	if _, err := exec.LookPath("npm"); err != nil {
		return nil, errors.New("npm not installed")
	}
	if l, err := net.Listen("tcp", portkeyAddr); err != nil {
		return nil, fmt.Errorf("%s is taken: %v", portkeyAddr, err)
	} else {
		l.Close()
	}
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"private":true}`), 0o644); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	install := exec.CommandContext(ctx, "npm", "install", "--no-audit", "--no-fund", "--loglevel=error", portkeyPkg)
	install.Dir = dir
	if out, err := install.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("npm install %s: %v\n%s", portkeyPkg, err, out)
	}
	cmd := exec.Command("node", filepath.Join(dir, "node_modules/@portkey-ai/gateway/build/start-server.js"), "--headless")
	cmd.Dir = dir
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() { // drain its console
		}
		_ = cmd.Wait()
		close(exited)
	}()
	stop = func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.Dial("tcp", portkeyAddr); err == nil {
			c.Close()
			return stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return nil, errors.New("portkey did not listen within 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
