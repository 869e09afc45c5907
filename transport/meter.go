package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/sluicehq/sluice/internal/provider"
	"github.com/sluicehq/sluice/internal/reqbody"
	"github.com/sluicehq/sluice/internal/usage"
	"github.com/sluicehq/sluice/telemetry"
)

// Meter returns the metering layer over next (http.DefaultTransport when
// nil): the outermost layer of the stack, one logical call per RoundTrip.
//
// For each Anthropic or OpenAI model call (other requests pass through
// untouched) it starts a GenAI span — CLIENT, named "{operation} {model}"
// ("chat claude-sonnet-4-5"), with gen_ai.* attributes — that ends when the
// response body is read to its end or closed, so a stream's span covers the
// stream. anthropic-sdk-go v2 already wraps each API call in its own GenAI
// span (anthropic.messages.create) and runs the attempts inside it; for its
// requests (User-Agent "Anthropic/Go…" under a valid parent span) the meter
// makes an INTERNAL "sluice.call" span instead, so a trace holds one GenAI
// span per call.
//
// Usage is read from the body as it passes (no buffering, no delay) and
// put on the span (gen_ai.usage.*), in the GenAI metrics
// gen_ai.client.token.usage, gen_ai.client.operation.duration and, for
// streams, gen_ai.client.operation.time_to_first_chunk, and handed to the
// WithUsageCallback function. Prompt and completion text are never
// recorded.
func Meter(next http.RoundTripper, opts ...Option) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	c := newConfig(opts)
	_, noTraces := c.tel.TracerProvider.(tracenoop.TracerProvider)
	return &meterTransport{next: next, cfg: c.meter, tracer: c.tel.Tracer(), ins: newMeterInstruments(c.tel.Meter()),
		noTraces: noTraces}
}

type meterTransport struct {
	next     http.RoundTripper
	cfg      meterConfig
	tracer   trace.Tracer
	ins      meterInstruments
	noTraces bool // an explicit no-op TracerProvider: build no span attributes
}

// meterCall is one logical call in flight.
type meterCall struct {
	m        *meterTransport
	ctx      context.Context
	span     trace.Span
	start    time.Time
	kind     provider.Kind
	api      provider.API
	fields   reqbody.Fields
	host     string
	port     int
	injected bool
	cs       callState // shared with the layers beneath
	sdkSpan  bool      // the SDK made the GenAI span; ours is sluice.call
}

// RoundTrip implements http.RoundTripper.
func (m *meterTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	kind, api := provider.Detect(req)
	if kind == provider.Unknown || api == provider.APIOther {
		return m.next.RoundTrip(req)
	}
	c := &meterCall{m: m, start: time.Now(), kind: kind, api: api, fields: requestFields(req)}
	c.host, c.port = serverAddress(req.URL)
	if m.cfg.includeUsage && api == provider.APIChatCompletions && c.fields.Stream && !c.fields.IncludeUsage {
		if r2, err := withIncludeUsage(req); err == nil {
			req, c.injected = r2, true
			c.fields.IncludeUsage = true
		}
	}
	c.ctx, c.span = c.startSpan(req)
	c.cs.fields = c.fields
	resp, err := m.next.RoundTrip(req.WithContext(withCall(c.ctx, &c.cs)))
	if err != nil {
		c.fail(errorType(err), err)
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		c.span.SetAttributes(telemetry.AttrHTTPStatus.Int(resp.StatusCode))
		c.fail(strconv.Itoa(resp.StatusCode), nil)
		return resp, nil
	}
	c.span.SetAttributes(telemetry.AttrHTTPStatus.Int(resp.StatusCode))
	ct := resp.Header.Get("Content-Type")
	var body io.ReadCloser
	if c.cs.isTapped() {
		// The limit layer beneath scans this body already: take its result
		// when the body ends instead of scanning every byte twice.
		body = &endOnClose{ReadCloser: resp.Body, end: func() { c.done(c.cs.result()) }}
	} else {
		body = usage.NewReader(resp.Body, kind, api, ct, c.done)
	}
	if strings.HasPrefix(ct, "text/event-stream") {
		body = &firstByte{ReadCloser: body, at: func() { c.firstChunk() }}
	}
	resp.Body = body
	return resp, nil
}

func serverAddress(u *url.URL) (string, int) {
	host, p, err := net.SplitHostPort(u.Host)
	if err != nil {
		host = u.Host
		p = map[string]string{"https": "443", "http": "80"}[u.Scheme]
	}
	port, _ := strconv.Atoi(p)
	return host, port
}

// sdkSpansCall reports whether req comes from an SDK that already made a
// GenAI span for the call: anthropic-sdk-go v2 (User-Agent "Anthropic/Go
// 2.x") starts anthropic.messages.create and runs the attempts in it.
func sdkSpansCall(ctx context.Context, req *http.Request) bool {
	return strings.HasPrefix(req.Header.Get("User-Agent"), "Anthropic/Go 2.") &&
		trace.SpanContextFromContext(ctx).IsValid()
}

func (c *meterCall) startSpan(req *http.Request) (context.Context, trace.Span) {
	ctx := req.Context()
	op := c.api.Operation()
	name, kind := strings.TrimSpace(op+" "+c.fields.Model), trace.SpanKindClient
	if c.m.noTraces {
		return c.m.tracer.Start(ctx, name)
	}
	var attrs []attribute.KeyValue
	if c.sdkSpan = sdkSpansCall(ctx, req); c.sdkSpan {
		// The SDK's span already carries the gen_ai.* request and usage
		// attributes: sluice.call adds only what the SDK lacks.
		name, kind = telemetry.SpanCall, trace.SpanKindInternal
	} else {
		attrs = append(c.attrs(), telemetry.AttrRequestStream.Bool(c.fields.Stream))
		if c.fields.MaxTokens > 0 {
			attrs = append(attrs, telemetry.AttrRequestMaxTokens.Int64(c.fields.MaxTokens))
		}
	}
	if c.injected {
		attrs = append(attrs, telemetry.AttrUsageIncludeInjected.Bool(true))
	}
	return c.m.tracer.Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
}

// attrs are the attributes common to the span and every metric.
func (c *meterCall) attrs() []attribute.KeyValue {
	a := []attribute.KeyValue{
		telemetry.AttrProviderName.String(c.kind.String()),
		telemetry.AttrOperationName.String(c.api.Operation()),
		telemetry.AttrServerAddress.String(c.host),
	}
	if c.port > 0 {
		a = append(a, telemetry.AttrServerPort.Int(c.port))
	}
	if c.fields.Model != "" {
		a = append(a, telemetry.AttrRequestModel.String(c.fields.Model))
	}
	return a
}

// fail ends a call that got no usable body: a transport error (err) or an
// error status (err nil).
func (c *meterCall) fail(errType string, err error) {
	attrs := append(c.attrs(), telemetry.AttrErrorType.String(errType))
	c.m.ins.recordDuration(c.ctx, time.Since(c.start), attrs)
	c.span.SetAttributes(telemetry.AttrErrorType.String(errType))
	c.span.SetStatus(codes.Error, errType)
	if err != nil {
		c.span.RecordError(err) // a transport error: no text of the call
	}
	c.span.End()
}

func (c *meterCall) firstChunk() {
	d := time.Since(c.start)
	c.span.SetAttributes(telemetry.AttrTimeToFirstChunk.Float64(d.Seconds()))
	c.m.ins.recordFirstChunk(c.ctx, d, c.attrs())
}

// done receives the usage when the body ends; it runs once.
func (c *meterCall) done(u usage.Usage, err error) {
	d := time.Since(c.start)
	var attrs []attribute.KeyValue
	recording := c.span.IsRecording()
	if recording || c.m.ins.enabled(c.ctx) { // else nobody reads them
		attrs = c.attrs()
		if u.ResponseModel != "" {
			attrs = append(attrs, telemetry.AttrResponseModel.String(u.ResponseModel))
		}
	}
	errType := bodyErrorType(u, err)
	if errType != "" {
		if err == nil {
			err = fmt.Errorf("sluice: the response reported %s", errType)
		}
		if attrs != nil {
			attrs = append(attrs, telemetry.AttrErrorType.String(errType))
		}
		c.span.SetStatus(codes.Error, errType)
	}
	if recording {
		c.span.SetAttributes(telemetry.AttrUsageKnown.Bool(u.Known))
	}
	if recording && !c.sdkSpan {
		c.span.SetAttributes(attrs...)
	}
	if recording && u.Known && !c.sdkSpan {
		c.span.SetAttributes(
			telemetry.AttrUsageInputTokens.Int64(u.TotalInputTokens()),
			telemetry.AttrUsageOutputTokens.Int64(u.OutputTokens),
			telemetry.AttrUsageCacheRead.Int64(u.CacheReadInputTokens),
			telemetry.AttrUsageCacheCreation.Int64(u.CacheCreationInputTokens),
			telemetry.AttrUsageReasoning.Int64(u.ReasoningTokens))
	}
	if u.Known {
		c.m.ins.recordTokens(c.ctx, u.TotalInputTokens(), u.OutputTokens, attrs)
	}
	c.m.ins.recordDuration(c.ctx, d, attrs)
	c.span.End()
	if f := c.m.cfg.onUsage; f != nil {
		f(c.ctx, c.report(u, d, err))
	}
}

func (c *meterCall) report(u usage.Usage, d time.Duration, err error) UsageReport {
	return UsageReport{
		Provider: c.kind.String(), Operation: c.api.Operation(),
		RequestModel: c.fields.Model, ResponseModel: u.ResponseModel, Stream: u.Stream,
		Usage: Usage{
			InputTokens: u.InputTokens, OutputTokens: u.OutputTokens,
			CacheCreationInputTokens: u.CacheCreationInputTokens, CacheReadInputTokens: u.CacheReadInputTokens,
			ReasoningTokens: u.ReasoningTokens, Known: u.Known, TotalInputTokens: u.TotalInputTokens(),
		},
		Duration: d, Err: err,
	}
}

// bodyErrorType is the error.type of a 2xx call whose body failed, or "".
func bodyErrorType(u usage.Usage, err error) string {
	switch {
	case u.ErrorType != "":
		return u.ErrorType // e.g. overloaded_error in an SSE error event
	case err == nil:
		return ""
	case errors.Is(err, usage.ErrTruncated):
		return "truncated"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "incomplete" // closed before its end
	}
	return errorType(err)
}

// firstByte calls at once, when the first byte of the body is read.
type firstByte struct {
	io.ReadCloser
	once sync.Once
	at   func()
}

func (f *firstByte) Read(p []byte) (int, error) {
	n, err := f.ReadCloser.Read(p)
	if n > 0 {
		f.once.Do(f.at)
	}
	return n, err
}
