package proxy

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/llmtest"
)

// The proxy benchmarks put `sluice proxy` (the default stack, Prometheus
// metrics on, no OTLP) beside a bare httputil.ReverseProxy and a direct
// connection, all on loopback to one llmtest server with a quota far above
// the load (so every response carries rate-limit headers and usage, and
// the stack does its full work). make bench runs them (bench/run.sh).

const benchBody = `{"model":"claude-bench","max_tokens":16,"messages":[{"role":"user","content":"a short benchmark prompt"}]}`

// benchSetups starts the upstream and the two proxies and returns the base
// URL of each setup, direct first.
func benchSetups(b *testing.B) (names, urls []string) {
	b.Helper()
	srv := llmtest.NewServer(llmtest.Config{Quota: llmtest.Quota{Requests: 1 << 40, InputTokens: 1 << 40, OutputTokens: 1 << 40, Tokens: 1 << 40}})
	b.Cleanup(srv.Close)
	target, _ := url.Parse(srv.URL)
	bare := &httputil.ReverseProxy{
		Rewrite:       func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		FlushInterval: -1,
		Transport:     benchTransport(),
		ErrorLog:      log.New(io.Discard, "", 0), // as quiet as the sluice proxy's discarded logs
	}
	bareURL := serveBench(b, bare)

	c := Defaults()
	c.AnthropicUpstream, c.OpenAIUpstream = srv.URL, srv.URL
	c.OTLP = false
	s, err := New(context.Background(), c, slog.New(slog.DiscardHandler), Deps{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	sluiceURL := serveBench(b, s.http.Handler)
	return []string{"direct", "bare", "sluice"}, []string{srv.URL, bareURL, sluiceURL}
}

func benchTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	return tr
}

func serveBench(b *testing.B, h http.Handler) string {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(l) }()
	b.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String()
}

func benchCall(c *http.Client, base string) error {
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/messages", strings.NewReader(benchBody))
	req.Header.Set("x-api-key", "sk-bench")
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("status %d", resp.StatusCode)
	}
	return err
}

// BenchmarkProxyThroughput: closed loop, 16 callers in parallel; req/s is
// the throughput of each setup (ns/op its inverse).
func BenchmarkProxyThroughput(b *testing.B) {
	names, urls := benchSetups(b)
	for i, name := range names {
		b.Run(name, func(b *testing.B) {
			c := &http.Client{Transport: benchTransport()}
			defer c.CloseIdleConnections()
			b.SetParallelism(8) // × GOMAXPROCS callers
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := benchCall(c, urls[i]); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
		})
	}
}

// BenchmarkProxyLatency: open loop at a fixed rate (1 000 requests/s by
// default) for each setup in turn, in rounds so that a noisy moment of a
// shared machine hits every setup alike; reports p50 and p99 of each and
// the latency each proxy adds over the direct call at the same percentile.
// One iteration is the whole measurement: run it with -benchtime=1x.
func BenchmarkProxyLatency(b *testing.B) {
	const rate, perRound, rounds = 1000, 1000, 3
	names, urls := benchSetups(b)
	lat := make([][]time.Duration, len(names))
	c := &http.Client{Transport: benchTransport()}
	defer c.CloseIdleConnections()
	for i := range names { // warm the connections
		for range 50 {
			_ = benchCall(c, urls[i])
		}
	}
	b.ResetTimer()
	for range b.N {
		for r := range rounds {
			for k := range names {
				i := (k + r) % len(names)
				lat[i] = append(lat[i], openLoop(b, c, urls[i], rate, perRound)...)
			}
		}
	}
	b.StopTimer()
	pct := func(d []time.Duration, p float64) time.Duration {
		slices.Sort(d)
		return d[int(float64(len(d)-1)*p)]
	}
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	for i, name := range names {
		p50, p99 := pct(lat[i], 0.50), pct(lat[i], 0.99)
		b.ReportMetric(us(p50), name+"-p50-µs")
		b.ReportMetric(us(p99), name+"-p99-µs")
		if i > 0 {
			b.ReportMetric(us(p50-pct(lat[0], 0.50)), name+"-added-p50-µs")
			b.ReportMetric(us(p99-pct(lat[0], 0.99)), name+"-added-p99-µs")
		}
	}
	// What sluice adds over the bare reverse proxy: the target.
	b.ReportMetric(us(pct(lat[2], 0.50)-pct(lat[1], 0.50)), "sluice-over-bare-p50-µs")
	b.ReportMetric(us(pct(lat[2], 0.99)-pct(lat[1], 0.99)), "sluice-over-bare-p99-µs")
}

// BenchmarkProxyTTFB: the time from sending a streaming Messages request to
// reading its first SSE event, one call at a time, per setup.
func BenchmarkProxyTTFB(b *testing.B) {
	names, urls := benchSetups(b)
	body := strings.Replace(benchBody, `"max_tokens":16`, `"max_tokens":16,"stream":true`, 1)
	for i, name := range names {
		b.Run(name, func(b *testing.B) {
			c := &http.Client{Transport: benchTransport()}
			defer c.CloseIdleConnections()
			ttfb := make([]time.Duration, 0, b.N)
			buf := make([]byte, 1)
			for range b.N {
				req, _ := http.NewRequest(http.MethodPost, urls[i]+"/v1/messages", strings.NewReader(body))
				req.Header.Set("x-api-key", "sk-bench")
				t0 := time.Now()
				resp, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(resp.Body, buf); err != nil {
					b.Fatal(err)
				}
				ttfb = append(ttfb, time.Since(t0))
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			slices.Sort(ttfb)
			b.ReportMetric(float64(ttfb[len(ttfb)/2])/float64(time.Microsecond), "ttfb-p50-µs")
		})
	}
}

// openLoop sends n calls to base at rate per second, each on schedule
// whatever the others do, and returns their latencies.
func openLoop(b *testing.B, c *http.Client, base string, rate, n int) []time.Duration {
	out := make([]time.Duration, n)
	var wg sync.WaitGroup
	tick := time.Second / time.Duration(rate)
	start := time.Now()
	for j := range n {
		if d := time.Until(start.Add(time.Duration(j) * tick)); d > 0 {
			time.Sleep(d)
		}
		wg.Go(func() {
			t0 := time.Now()
			if err := benchCall(c, base); err != nil {
				b.Error(err)
			}
			out[j] = time.Since(t0)
		})
	}
	wg.Wait()
	return out
}
