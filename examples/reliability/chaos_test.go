package reliability

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"

	"github.com/sluicehq/sluice/limiter"
	"github.com/sluicehq/sluice/llmtest"
	"github.com/sluicehq/sluice/transport"
)

// chaosFaults is the seeded mix every chaos server draws from: throttling,
// overload, server errors, resets, latency, slow, truncated and failing
// streams. About one attempt in four meets one.
func chaosFaults() []llmtest.Fault {
	return []llmtest.Fault{
		{Kind: llmtest.FaultStatus, Status: 429, RetryAfter: "1", RetryAfterMs: "40", ShouldRetry: "true", Probability: 0.03},
		{Kind: llmtest.FaultStatus, Status: 529, Probability: 0.03},
		{Kind: llmtest.FaultStatus, Status: 500, Probability: 0.02},
		{Kind: llmtest.FaultStatus, Status: 503, Probability: 0.02},
		{Kind: llmtest.FaultReset, Probability: 0.02},
		{Kind: llmtest.FaultLatency, Delay: 80 * time.Millisecond, Probability: 0.03},
		{Kind: llmtest.FaultSlowStream, Delay: 5 * time.Millisecond, Probability: 0.03},
		{Kind: llmtest.FaultTruncate, Probability: 0.02},
		{Kind: llmtest.FaultStreamError, Probability: 0.02},
	}
}

// chaosClients are the two real SDK clients over one sluice transport, with
// the SDKs' own retries off as documented.
type chaosClients struct {
	a anthropic.Client
	o openai.Client
}

func newChaosClients(tr http.RoundTripper, url, key string) chaosClients {
	hc := &http.Client{Transport: tr}
	return chaosClients{
		a: anthropic.NewClient(aoption.WithHTTPClient(hc), aoption.WithMaxRetries(0),
			aoption.WithBaseURL(url), aoption.WithAPIKey(key)),
		o: openai.NewClient(ooption.WithHTTPClient(hc), ooption.WithMaxRetries(0),
			ooption.WithBaseURL(url+"/v1/"), ooption.WithAPIKey(key)),
	}
}

// call makes call i: four in five go to Anthropic, one in five to OpenAI;
// a third of each are streams, read to their end.
func (c chaosClients) call(ctx context.Context, i int) error {
	text := strings.Repeat(fmt.Sprintf("chaos %d ", i), 3+i%29)
	if i%5 == 4 {
		p := openai.ChatCompletionNewParams{
			Model:               "gpt-chaos",
			MaxCompletionTokens: openai.Int(int64(8 + i%4*8)),
			Messages:            []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)},
		}
		if i%3 == 0 {
			s := c.o.Chat.Completions.NewStreaming(ctx, p)
			defer s.Close()
			for s.Next() {
			}
			return s.Err()
		}
		_, err := c.o.Chat.Completions.New(ctx, p)
		return err
	}
	p := anthropic.MessageNewParams{
		Model:     "claude-chaos",
		MaxTokens: int64(8 + i%4*8),
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(text))},
	}
	if i%3 == 0 {
		s := c.a.Messages.NewStreaming(ctx, p)
		defer s.Close()
		for s.Next() {
		}
		return s.Err()
	}
	_, err := c.a.Messages.New(ctx, p)
	return err
}

// chaosClass names the kind of a call's error, or "" when it is none a
// caller can branch on: that call is lost.
func chaosClass(err error) string {
	var (
		ae *anthropic.Error
		oe *openai.Error
		re *transport.RetryError
		be *transport.BreakerOpenError
		we *limiter.WaitError
	)
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &ae):
		return fmt.Sprintf("anthropic %d", ae.StatusCode)
	case errors.As(err, &oe):
		return fmt.Sprintf("openai %d", oe.StatusCode)
	case errors.As(err, &be):
		return "breaker open (" + be.Reason + ")"
	case errors.As(err, &re):
		return "retry: " + re.Reason.Error()
	case errors.As(err, &we), errors.Is(err, limiter.ErrClosed), errors.Is(err, limiter.ErrQueueFull):
		return "limiter"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "context"
	case errors.Is(err, io.ErrUnexpectedEOF):
		// A 200 whose body the server cut: the SDK reads an unexpected EOF
		// (after the retry layer has handed the response over, nothing can
		// replay it).
		return "truncated body"
	}
	return ""
}

// chaosUsage sums the usage callback's reports of successful calls.
type chaosUsage struct {
	mu              sync.Mutex
	in, out, ok, ko int64
}

func (u *chaosUsage) add(_ context.Context, r transport.UsageReport) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if r.Err != nil {
		u.ko++
		return
	}
	u.ok++
	u.in += r.Usage.InputTokens
	u.out += r.Usage.OutputTokens
}

// chaosResult is what one call did.
type chaosResult struct {
	err      error
	elapsed  time.Duration
	deadline time.Duration
}

// chaosRun makes calls calls with workers workers, each under its own
// deadline, and returns every result by call index.
func chaosRun(c chaosClients, calls, workers int, deadline func(i int) time.Duration) []chaosResult {
	res := make([]chaosResult, calls)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				d := deadline(i)
				ctx, cancel := context.WithTimeout(context.Background(), d)
				start := time.Now()
				err := c.call(ctx, i)
				res[i] = chaosResult{err: err, elapsed: time.Since(start), deadline: d}
				cancel()
			}
		}()
	}
	for i := range calls {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return res
}

// chaosCheck fails the test for every lost call and every call that
// outlived its deadline by more than slack, and returns the classes seen.
func chaosCheck(t *testing.T, res []chaosResult, slack time.Duration) map[string]int {
	t.Helper()
	classes := map[string]int{}
	lost, late := 0, 0
	for i, r := range res {
		cl := chaosClass(r.err)
		if cl == "" {
			if lost++; lost <= 10 {
				t.Errorf("call %d lost: error of no recognisable kind: %T %v", i, r.err, r.err)
			}
			cl = "LOST"
		}
		classes[cl]++
		if r.elapsed > r.deadline+slack {
			if late++; late <= 10 {
				t.Errorf("call %d returned after %v, deadline %v (+%v slack): %v", i, r.elapsed, r.deadline, slack, r.err)
			}
		}
	}
	if lost > 0 || late > 0 {
		t.Errorf("%d calls lost, %d past their deadline, of %d", lost, late, len(res))
	}
	return classes
}

// quietLogger drops the breaker's state-change logs, which chaos makes many
// of.
func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func logClasses(t *testing.T, classes map[string]int) {
	t.Helper()
	keys := make([]string, 0, len(classes))
	for k := range classes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&sb, "  %-50s %d\n", k, classes[k])
	}
	t.Logf("outcomes:\n%s", sb.String())
}

// 2 000 calls through the real SDKs and the full stack, under a quota and a
// seeded mix of every fault llmtest has: every call returns success or an
// error a caller can branch on, none outlives its deadline, and the usage
// the meter reported for the successful calls is exactly what the server
// billed.
func TestChaos(t *testing.T) {
	calls, workers := 2000, 40
	if testing.Short() {
		calls = 400
	}
	srv := llmtest.NewServer(llmtest.Config{
		Window:       time.Second,
		Quota:        llmtest.Quota{Requests: 400, InputTokens: 400_000, OutputTokens: 40_000, Tokens: 400_000},
		RetryAfterMs: true,
		Seed:         20240601,
		Faults:       chaosFaults(),
	})
	defer srv.Close()
	var used chaosUsage
	lim := limiter.New(limiter.WithWindow(time.Second))
	defer lim.Close()
	tr := transport.New(nil,
		transport.WithLimit(transport.LimitSettings{Limiter: lim}),
		transport.WithRetry(transport.RetrySettings{InitialBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}),
		transport.WithBreaker(transport.BreakerSettings{
			FailureRatio: 0.15, MinRequests: 40, Window: 2 * time.Second, Break: 150 * time.Millisecond}),
		transport.WithMeter(transport.MeterSettings{StreamUsage: true, OnUsage: used.add}),
		transport.WithLogger(quietLogger()))
	defer tr.Close()
	c := newChaosClients(tr, srv.URL, "chaos-key")

	const deadline = 20 * time.Second
	res := chaosRun(c, calls, workers, func(int) time.Duration { return deadline })
	classes := chaosCheck(t, res, 2*time.Second)
	logClasses(t, classes)

	st := srv.Stats()
	used.mu.Lock()
	defer used.mu.Unlock()
	if used.in != st.InputTokens || used.out != st.OutputTokens {
		t.Errorf("usage callback of successful calls: in/out %d/%d; server billed %d/%d",
			used.in, used.out, st.InputTokens, st.OutputTokens)
	}
	if int(used.ok) != classes["ok"] {
		t.Errorf("%d usage reports without error, %d successful calls", used.ok, classes["ok"])
	}
	if st.Completed != int64(classes["ok"]) {
		t.Errorf("server completed %d responses, %d calls succeeded", st.Completed, classes["ok"])
	}
	if classes["ok"] < calls/2 {
		t.Errorf("only %d of %d calls succeeded", classes["ok"], calls)
	}
	t.Logf("arrivals %d, by status %v, resets %d, truncated %d, 429s %d, herd %d, tokens %d/%d, failed-body reports %d",
		st.Arrivals, st.ByStatus, st.Resets, st.Truncated, st.RateLimited, st.HerdArrivals,
		st.InputTokens, st.OutputTokens, used.ko)
}

// Calls with short deadlines against a server that is slow half the time:
// every call returns within its deadline plus a small slack, with success,
// a context error or a typed error — never a hang.
func TestChaosDeadlines(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Config{
		Seed: 99,
		Faults: []llmtest.Fault{
			{Kind: llmtest.FaultLatency, Delay: 3 * time.Second, Probability: 0.3},
			{Kind: llmtest.FaultSlowStream, Delay: 200 * time.Millisecond, Probability: 0.2},
			{Kind: llmtest.FaultStatus, Status: 529, Probability: 0.2},
			{Kind: llmtest.FaultReset, Probability: 0.05},
		},
	})
	defer srv.Close()
	tr := transport.New(nil,
		transport.WithRetry(transport.RetrySettings{InitialBackoff: 50 * time.Millisecond, MaxBackoff: 400 * time.Millisecond}),
		transport.WithLogger(quietLogger()))
	defer tr.Close()
	c := newChaosClients(tr, srv.URL, "deadline-key")

	res := chaosRun(c, 200, 20, func(i int) time.Duration { return time.Duration(100+i%5*100) * time.Millisecond })
	classes := chaosCheck(t, res, time.Second)
	logClasses(t, classes)
	if classes["context"]+classes["retry: "+transport.ErrDeadlineTooSoon.Error()] == 0 {
		t.Errorf("no call met its deadline: the test exercised nothing")
	}
}
