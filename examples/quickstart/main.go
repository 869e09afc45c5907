// Command quickstart is what `make demo` runs: a few hundred concurrent calls
// through the real anthropic-sdk-go, first with the SDK's own retries, then
// through sluice, against llmtest — an in-process fake Anthropic API with a
// tight quota and a short 529 outage. No API key, no network.
//
// With -real and ANTHROPIC_API_KEY set, it sends a small batch to the real
// API through sluice instead. With OTEL_EXPORTER_OTLP_ENDPOINT set, it also
// exports sluice's traces and metrics over OTLP.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
	"go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/sluicehq/sluice/limiter"
	"github.com/sluicehq/sluice/llmtest"
	"github.com/sluicehq/sluice/telemetry"
	"github.com/sluicehq/sluice/telemetry/otlp"
	"github.com/sluicehq/sluice/transport"
)

type flags struct {
	calls, workers int
	window         time.Duration
	outageAt       time.Duration
	outageFor      time.Duration
	real           bool
	model          string
	baseline       bool
}

func main() {
	var f flags
	flag.IntVar(&f.calls, "calls", 300, "calls to send")
	flag.IntVar(&f.workers, "workers", 40, "concurrent workers")
	flag.DurationVar(&f.window, "window", time.Second, "the fake API's rate-limit window (the real one is a minute)")
	flag.DurationVar(&f.outageAt, "outage-at", 2500*time.Millisecond, "when the fake API's 529 outage starts")
	flag.DurationVar(&f.outageFor, "outage-for", 1500*time.Millisecond, "how long the outage lasts")
	flag.BoolVar(&f.baseline, "baseline", true, "first run the same load with the SDK's own retries, for comparison")
	flag.BoolVar(&f.real, "real", false, "call the real Anthropic API (needs ANTHROPIC_API_KEY)")
	flag.StringVar(&f.model, "model", "claude-haiku-4-5", "model to call")
	flag.Parse()
	if err := run(context.Background(), f); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, f flags) error {
	reader := metric.NewManualReader()
	exp, err := setupExport(ctx, reader)
	if err != nil {
		return err
	}
	defer exp.shutdown(ctx)

	if f.real {
		if os.Getenv("ANTHROPIC_API_KEY") == "" {
			return fmt.Errorf("-real needs ANTHROPIC_API_KEY")
		}
		f.calls, f.workers = min(f.calls, 20), min(f.workers, 5)
		f.window = time.Minute // the real API's rate-limit window
		fmt.Printf("sluice quickstart — %d calls to the real Anthropic API (%s) through sluice\n\n", f.calls, f.model)
		res := runSluice(ctx, f, nil, exp, reader)
		printSummary(f, nil, res)
		return nil
	}

	fmt.Printf("sluice quickstart — %d calls from %d workers through the real anthropic-sdk-go\n", f.calls, f.workers)
	fmt.Printf("fake Anthropic API (llmtest, in process): per %v window %d requests, %d input and %d output tokens;\n",
		f.window, quota.Requests, quota.InputTokens, quota.OutputTokens)
	fmt.Printf("529 overloaded outage from %v to %v after the start of each run\n\n", f.outageAt, f.outageAt+f.outageFor)

	var base *result
	if f.baseline {
		fmt.Println("1. anthropic-sdk-go alone (its default: 2 retries)")
		base = runBaseline(ctx, f)
		fmt.Println()
	}
	fmt.Println("2. anthropic-sdk-go + sluice: transport.New(nil), option.WithMaxRetries(0)")
	res := runSluice(ctx, f, newServer(f), exp, reader)
	fmt.Println()
	printSummary(f, base, res)
	return nil
}

// quota is the fake API's limit per window: far below what 40 workers ask.
var quota = llmtest.Quota{Requests: 50, InputTokens: 40000, OutputTokens: 6000}

func newServer(f flags) *llmtest.Server {
	return llmtest.NewServer(llmtest.Config{
		Window:  f.window,
		Quota:   quota,
		Latency: 30 * time.Millisecond,
		Outages: []llmtest.Outage{{Start: f.outageAt, End: f.outageAt + f.outageFor, Status: 529}},
	})
}

// result is what one run saw, from the client's side and from the server's.
type result struct {
	wall              time.Duration
	ok, failed        int64
	server            llmtest.Stats
	hasServer         bool
	metrics           *summary // sluice's own metrics; nil for the baseline
	firstErr          string
	inTokens, outToks int64
}

func runBaseline(ctx context.Context, f flags) *result {
	srv := newServer(f)
	defer srv.Close()
	client := anthropic.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("quickstart"),
		option.WithoutOpenTelemetry())
	r := drive(ctx, f, client, nil)
	r.server, r.hasServer = srv.Stats(), true
	return r
}

func runSluice(ctx context.Context, f flags, srv *llmtest.Server, exp *export, reader *metric.ManualReader) *result {
	tp, mp := exp.tracerProvider, exp.meterProvider
	clientOpts := []option.RequestOption{option.WithMaxRetries(0), option.WithTracerProvider(tp)}
	var breaker transport.BreakerSettings // the defaults, for the real API
	if srv != nil {
		defer srv.Close()
		clientOpts = append(clientOpts, option.WithBaseURL(srv.URL), option.WithAPIKey("quickstart"))
		// A breaker tuned to the compressed time scale of the demo.
		breaker = transport.BreakerSettings{MinRequests: 20, Window: 2 * f.window, Break: 500 * time.Millisecond}
	}

	// The limiter paces the calls under the API's quota, which it learns
	// from the rate-limit headers, over the API's window (the fake API's
	// "minute" is compressed to f.window). Its maker closes it:
	// Transport.Close leaves a limiter passed in alone.
	lim := limiter.New(limiter.WithWindow(f.window))
	defer lim.Close()

	tr := transport.New(nil,
		transport.WithLimit(transport.LimitSettings{Limiter: lim}),
		transport.WithBreaker(breaker),
		transport.WithTelemetry(telemetry.WithMeterProvider(mp), telemetry.WithTracerProvider(tp)))
	defer tr.Close()
	clientOpts = append(clientOpts, option.WithHTTPClient(&http.Client{Transport: tr}))
	client := anthropic.NewClient(clientOpts...)

	r := drive(ctx, f, client, tr)
	if srv != nil {
		r.server, r.hasServer = srv.Stats(), true
	}
	r.metrics = collect(ctx, reader)
	return r
}

// drive sends f.calls calls from f.workers workers and shows progress.
func drive(ctx context.Context, f flags, client anthropic.Client, tr *transport.Transport) *result {
	var (
		r            result
		done, failed atomic.Int64
		inTok, outTk atomic.Int64
		errOnce      sync.Once
		wg           sync.WaitGroup
	)
	jobs := make(chan int)
	start := time.Now()
	for range f.workers {
		wg.Go(func() {
			for i := range jobs {
				cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
				u, err := call(cctx, client, f.model, i)
				cancel()
				if err != nil {
					failed.Add(1)
					errOnce.Do(func() { r.firstErr = shorten(err.Error()) })
				} else {
					inTok.Add(u.InputTokens)
					outTk.Add(u.OutputTokens)
				}
				done.Add(1)
			}
		})
	}
	stop := make(chan struct{})
	progressDone := make(chan struct{})
	go progress(f, start, &done, &failed, tr, stop, progressDone)
	for i := range f.calls {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(stop)
	<-progressDone
	r.wall = time.Since(start)
	r.failed = failed.Load()
	r.ok = done.Load() - r.failed
	r.inTokens, r.outToks = inTok.Load(), outTk.Load()
	return &r
}

func call(ctx context.Context, client anthropic.Client, model string, i int) (anthropic.Usage, error) {
	p := anthropic.MessageNewParams{
		Model:     anthropic.Model(model),
		MaxTokens: int64(32 + i%4*32),
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(
			fmt.Sprintf("Task %d: summarise the following notes. %s", i, strings.Repeat("notes ", 20+i%7*40))))},
	}
	if i%4 == 0 { // a quarter of the calls stream
		s := client.Messages.NewStreaming(ctx, p)
		defer s.Close()
		var m anthropic.Message
		for s.Next() {
			_ = m.Accumulate(s.Current())
		}
		return m.Usage, s.Err()
	}
	m, err := client.Messages.New(ctx, p)
	if err != nil {
		return anthropic.Usage{}, err
	}
	return m.Usage, nil
}

func progress(f flags, start time.Time, done, failed *atomic.Int64, tr *transport.Transport, stop, exited chan struct{}) {
	defer close(exited)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		line := fmt.Sprintf("  [%5.1fs] %3d/%d done, %d failed", time.Since(start).Seconds(), done.Load(), f.calls, failed.Load())
		if tr != nil && tr.Limiter() != nil {
			var q, inflight int
			for _, ks := range tr.Limiter().Stats() {
				q += ks.Queued
				inflight += ks.InFlight
			}
			line += fmt.Sprintf(", %2d in flight, %3d queued in sluice", inflight, q)
		}
		fmt.Println(line)
	}
}

func shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 110 {
		s = s[:110] + "…"
	}
	return s
}

// export holds the providers sluice records with: in-process only, or
// also exporting over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set.
type export struct {
	tracerProvider *sdktrace.TracerProvider
	meterProvider  *metric.MeterProvider
	shutdown       func(context.Context)
}

func setupExport(ctx context.Context, reader metric.Reader) (*export, error) {
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" {
		e := &export{tracerProvider: sdktrace.NewTracerProvider(),
			meterProvider: metric.NewMeterProvider(metric.WithReader(reader))}
		e.shutdown = func(ctx context.Context) {
			_ = e.tracerProvider.Shutdown(ctx)
			_ = e.meterProvider.Shutdown(ctx)
		}
		return e, nil
	}
	p, err := otlp.Setup(ctx, otlp.WithServiceName("sluice-quickstart"), otlp.WithoutGlobal(),
		otlp.WithMetricReader(reader))
	if err != nil {
		return nil, err
	}
	fmt.Printf("exporting traces and metrics over OTLP to %s\n", os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT"))
	return &export{tracerProvider: p.TracerProvider, meterProvider: p.MeterProvider,
		shutdown: func(ctx context.Context) { _ = p.Shutdown(ctx) }}, nil
}
