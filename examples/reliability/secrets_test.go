package reliability

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sluicehq/sluice/llmtest"
	"github.com/sluicehq/sluice/telemetry"
	"github.com/sluicehq/sluice/transport"
)

const (
	secretKey    = "sk-test-CANARYKEY-7f3a9c1e5b2d4086"
	secretPrompt = "PROMPT-CANARY: the launch code is swordfish-4711"
)

// secretNeedles are strings that must appear in no span, metric or log
// record: the key, its distinctive middle, the prompt, a piece of it, and
// the completion text llmtest generates.
func secretNeedles() []string {
	return []string{secretKey, "CANARYKEY", "7f3a9c1e5b2d4086", secretPrompt, "PROMPT-CANARY", "swordfish", "Hello from llmtest"}
}

// secretsRecorder collects everything the stack exports.
type secretsRecorder struct {
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
	logMu  sync.Mutex
	logs   bytes.Buffer
}

func newSecretsRecorder() *secretsRecorder {
	r := &secretsRecorder{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	r.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.spans))
	r.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.reader))
	return r
}

// Write makes the recorder the log sink; slog.JSONHandler serialises its
// writes, the mutex guards reads of the buffer.
func (r *secretsRecorder) Write(p []byte) (int, error) {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	return r.logs.Write(p)
}

func (r *secretsRecorder) options() []transport.Option {
	return []transport.Option{
		transport.WithTelemetry(telemetry.WithTracerProvider(r.tp), telemetry.WithMeterProvider(r.mp)),
		transport.WithLogger(slog.New(slog.NewJSONHandler(r, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		transport.WithRetry(transport.RetrySettings{InitialBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
			MaxAttempts: 3}),
		transport.WithBreaker(transport.BreakerSettings{FailureRatio: 0.5, MinRequests: 3, Break: time.Minute,
			FailFast: true}),
	}
}

// secretsScenario drives one provider through a throttled call, a stream,
// a client error, a transport error and an outage that trips the breaker,
// with the secret key and prompt, and returns the breaker error it met.
type secretsScenario struct {
	name   string
	header string // the header that carries the key
	// clients builds the SDK clients that send the key in header.
	clients func(rt http.RoundTripper, url string) chaosClients
	// call makes one call with the secret prompt.
	call func(ctx context.Context, c chaosClients, stream bool) error
}

// secretsBearerClients send the key as the SDKs' WithAPIKey does:
// Authorization: Bearer (anthropic-sdk-go v2.15 does so too).
func secretsBearerClients(rt http.RoundTripper, url string) chaosClients {
	return newChaosClients(rt, url, secretKey)
}

// secretsXAPIKeyClients send the key in x-api-key, as the Anthropic API
// documents it; the SDK sends a hand-set x-api-key as it is.
func secretsXAPIKeyClients(rt http.RoundTripper, url string) chaosClients {
	c := newChaosClients(rt, url, "")
	c.a = anthropic.NewClient(aoption.WithHTTPClient(&http.Client{Transport: rt}), aoption.WithMaxRetries(0),
		aoption.WithBaseURL(url), aoption.WithHeader("X-Api-Key", secretKey))
	return c
}

func secretsAnthropic(ctx context.Context, c chaosClients, stream bool) error {
	p := anthropic.MessageNewParams{Model: "claude-secret", MaxTokens: 16,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(secretPrompt))}}
	if stream {
		s := c.a.Messages.NewStreaming(ctx, p)
		defer s.Close()
		for s.Next() {
		}
		return s.Err()
	}
	_, err := c.a.Messages.New(ctx, p)
	return err
}

func secretsOpenAI(ctx context.Context, c chaosClients, stream bool) error {
	p := openai.ChatCompletionNewParams{Model: "gpt-secret",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage(secretPrompt), openai.UserMessage(secretPrompt)}}
	if stream {
		s := c.o.Chat.Completions.NewStreaming(ctx, p)
		defer s.Close()
		for s.Next() {
		}
		return s.Err()
	}
	_, err := c.o.Chat.Completions.New(ctx, p)
	return err
}

// Every call of every kind, with a known API key and prompt, through the
// full stack with recording exporters and debug logging: neither the key
// nor the prompt (nor the completion) appears in any span, metric data
// point or log record, and the key's fingerprint, which does appear, is
// not the key.
func TestSecretsNeverExported(t *testing.T) {
	for _, sc := range []secretsScenario{
		{name: "anthropic", header: "x-api-key", call: secretsAnthropic, clients: secretsXAPIKeyClients},
		{name: "anthropic bearer", header: "Authorization", call: secretsAnthropic, clients: secretsBearerClients},
		{name: "openai", header: "Authorization", call: secretsOpenAI, clients: secretsBearerClients},
	} {
		t.Run(sc.name, func(t *testing.T) { secretsRun(t, sc) })
	}
}

func secretsRun(t *testing.T, sc secretsScenario) {
	srv := llmtest.NewServer(llmtest.Config{})
	defer srv.Close()
	rec := newSecretsRecorder()
	tr := transport.New(nil, append(rec.options(), transport.WithMeter(transport.MeterSettings{StreamUsage: true}))...)
	defer tr.Close()
	var seen secretsHeaderCheck
	c := sc.clients(seen.wrap(tr, sc.header), srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	srv.Inject(llmtest.Fault{Kind: llmtest.FaultStatus, Status: 429, RetryAfter: "1", RetryAfterMs: "20"})
	if err := sc.call(ctx, c, false); err != nil {
		t.Fatalf("429 then 200: %v", err)
	}
	if err := sc.call(ctx, c, true); err != nil {
		t.Fatalf("stream: %v", err)
	}
	srv.Inject(llmtest.Fault{Kind: llmtest.FaultStatus, Status: 400, ErrorType: "invalid_request_error"})
	if err := sc.call(ctx, c, false); !strings.HasSuffix(chaosClass(err), " 400") {
		t.Fatalf("client error: got %v, want a 400", err)
	}
	srv.Inject(llmtest.Fault{Kind: llmtest.FaultReset, Count: 3})
	var re *transport.RetryError
	if err := sc.call(ctx, c, false); !errors.As(err, &re) {
		t.Fatalf("resets: got %v, want a *transport.RetryError", err)
	}
	secretsOutage(ctx, t, srv, c, sc)
	if !seen.ok() {
		t.Fatalf("the SDK never sent the key in %s: the test proves nothing", sc.header)
	}

	spans := rec.spans.Ended()
	var metrics metricdata.ResourceMetrics
	if err := rec.reader.Collect(ctx, &metrics); err != nil {
		t.Fatal(err)
	}
	rec.logMu.Lock()
	logs := rec.logs.String()
	rec.logMu.Unlock()
	secretsScan(t, spans, metrics, logs)
}

// secretsOutage answers every request with 529 until the breaker opens and
// refuses a call.
func secretsOutage(ctx context.Context, t *testing.T, srv *llmtest.Server, c chaosClients, sc secretsScenario) {
	t.Helper()
	srv.Inject(llmtest.Fault{Kind: llmtest.FaultStatus, Status: 529, Count: 1000})
	for i := range 20 {
		err := sc.call(ctx, c, i%2 == 1)
		var be *transport.BreakerOpenError
		if errors.As(err, &be) {
			if strings.Contains(be.Error(), secretKey) || strings.Contains(be.Key, "CANARY") {
				t.Errorf("breaker error names the key: %v", be)
			}
			return
		}
		if cl := chaosClass(err); !strings.HasSuffix(cl, " 529") {
			t.Fatalf("outage call %d: %v (%s), want a 529 or an open breaker", i, err, cl)
		}
	}
	t.Fatal("the breaker never opened during the outage")
}

// secretsHeaderCheck proves the key really went out on the wire header the
// provider uses, so that its absence from telemetry means something.
type secretsHeaderCheck struct {
	mu   sync.Mutex
	sent int
}

func (s *secretsHeaderCheck) wrap(next http.RoundTripper, header string) http.RoundTripper {
	return secretsRT(func(r *http.Request) (*http.Response, error) {
		if strings.Contains(r.Header.Get(header), secretKey) {
			s.mu.Lock()
			s.sent++
			s.mu.Unlock()
		}
		return next.RoundTrip(r)
	})
}

func (s *secretsHeaderCheck) ok() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent > 0
}

type secretsRT func(*http.Request) (*http.Response, error)

func (f secretsRT) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// secretsScan fails the test for every needle found in a span (name,
// attributes, events, links, status), a metric data point (as JSON: every
// attribute and exemplar) or a log line, and checks that the scan saw
// enough to mean something.
func secretsScan(t *testing.T, spans []sdktrace.ReadOnlySpan, rm metricdata.ResourceMetrics, logs string) {
	t.Helper()
	sum := sha256.Sum256([]byte(secretKey))
	fp := hex.EncodeToString(sum[:8])
	if fp == secretKey || strings.Contains(fp, "CANARY") {
		t.Fatalf("fingerprint %q is the key", fp)
	}
	var texts []string
	var errored int
	for _, s := range spans {
		texts = append(texts, "span "+secretsSpanText(s))
		if s.Status().Code.String() == "Error" {
			errored++
		}
	}
	mj, err := json.Marshal(rm)
	if err != nil {
		t.Fatal(err)
	}
	texts = append(texts, "metrics "+string(mj))
	for _, l := range strings.Split(logs, "\n") {
		texts = append(texts, "log "+l)
	}
	for _, txt := range texts {
		for _, n := range secretNeedles() {
			if strings.Contains(txt, n) {
				t.Errorf("%q exported: %.400s", n, txt)
			}
		}
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{string(telemetry.AttrRequestModel), telemetry.MetricGenAITokenUsage, "sluice: retrying", "\"level\":\"DEBUG\"", fp} {
		if !strings.Contains(all, want) {
			t.Errorf("nothing exported contains %q: the scan may miss what it should see", want)
		}
	}
	if len(spans) < 10 || errored == 0 {
		t.Errorf("%d spans, %d with error status: too few to prove anything", len(spans), errored)
	}
	t.Logf("scanned %d spans (%d errors), %d bytes of metrics, %d bytes of logs; fingerprint %s", len(spans), errored, len(mj), len(logs), fp)
}

// secretsSpanText renders everything a span exporter would send.
func secretsSpanText(s sdktrace.ReadOnlySpan) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s kind=%s status=%s %q scope=%s", s.Name(), s.SpanKind(), s.Status().Code, s.Status().Description, s.InstrumentationScope().Name)
	for _, kv := range s.Attributes() {
		fmt.Fprintf(&sb, " %s=%s", kv.Key, kv.Value.String())
	}
	for _, e := range s.Events() {
		fmt.Fprintf(&sb, " event %s", e.Name)
		for _, kv := range e.Attributes {
			fmt.Fprintf(&sb, " %s=%s", kv.Key, kv.Value.String())
		}
	}
	for _, l := range s.Links() {
		for _, kv := range l.Attributes {
			fmt.Fprintf(&sb, " link %s=%s", kv.Key, kv.Value.String())
		}
	}
	for _, kv := range s.Resource().Attributes() {
		fmt.Fprintf(&sb, " resource %s=%s", kv.Key, kv.Value.String())
	}
	return sb.String()
}
