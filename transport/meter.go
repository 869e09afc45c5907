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
// MeterSettings.OnUsage function. Prompt and completion text are never
// recorded.
func Meter(next http.RoundTripper, s MeterSettings, opts ...LayerOption) http.RoundTripper {
	c := newConfig(opts)
	c.meter = s
	return newMeter(next, c)
}

// newMeter is the metering layer over next, for Meter and New.
func newMeter(next http.RoundTripper, c *config) *meterTransport {
	if next == nil {
		next = http.DefaultTransport
	}
	_, noTraces := c.tel.TracerProvider.(tracenoop.TracerProvider)
	return &meterTransport{next: next, cfg: c.meter, tracer: c.tel.Tracer(), ins: newMeterInstruments(c.tel.Meter()),
		noTraces: noTraces, sets: newMeterSetCache()}
}

type meterTransport struct {
	next     http.RoundTripper
	cfg      MeterSettings
	tracer   trace.Tracer
	ins      meterInstruments
	sets     *meterSetCache
	noTraces bool // an explicit no-op TracerProvider: build no span attributes
}

// meterCall is one logical call in flight. It is the call's only
// allocation in the meter: the shared state and the body wrapper live in it.
type meterCall struct {
	m        *meterTransport
	ctx      context.Context
	span     trace.Span
	start    time.Time
	kind     provider.Kind
	api      provider.API
	fields   reqbody.Fields
	url      *url.URL
	host     string // server.address and server.port, read from url
	port     int    // when an attribute first needs them
	hostOnce sync.Once
	status   int // of a 2xx response
	injected bool
	cs       callState // shared with the layers beneath
	sdkSpan  bool      // the SDK made the GenAI span; ours is sluice.call
	body     meterBody
}

// RoundTrip implements http.RoundTripper.
func (m *meterTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	kind, api := provider.Detect(req)
	if kind == provider.Unknown || api == provider.APIOther {
		return m.next.RoundTrip(req)
	}
	c := &meterCall{m: m, start: time.Now(), kind: kind, api: api, fields: requestFields(req), url: req.URL}
	if m.cfg.StreamUsage && api == provider.APIChatCompletions && c.fields.Stream && !c.fields.IncludeUsage {
		if r2, err := withIncludeUsage(req); err == nil {
			req, c.injected = r2, true
			c.fields.IncludeUsage = true
		}
	}
	c.ctx, c.span = c.startSpan(req)
	c.cs.fields = c.fields
	resp, err := m.next.RoundTrip(req.WithContext(withCall(c.ctx, &c.cs)))
	if err != nil {
		c.fail(errorType(err), 0, err)
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		c.fail(strconv.Itoa(resp.StatusCode), resp.StatusCode, nil)
		return resp, nil
	}
	c.status = resp.StatusCode // on the span with the usage, when the body ends
	ct := resp.Header.Get("Content-Type")
	c.body = meterBody{rc: resp.Body, c: c, stream: usage.IsEventStream(ct)}
	if c.body.tap = settleBodyOf(resp.Body); c.body.tap == nil {
		c.body.rc = usage.NewReader(resp.Body, kind, ct, c.done)
	}
	resp.Body = &c.body
	return resp, nil
}

func serverAddress(u *url.URL) (string, int) {
	host, p, err := net.SplitHostPort(u.Host)
	if err != nil {
		host = u.Host
		switch u.Scheme {
		case "https":
			return host, 443
		case "http":
			return host, 80
		}
		return host, 0
	}
	port, _ := strconv.Atoi(p)
	return host, port
}

// serverAddress returns the call's server.address and server.port, read
// from the URL the first time an attribute needs them (never, when nothing
// records). A stream's first chunk and a Close from another goroutine may
// both ask first, hence the Once.
func (c *meterCall) serverAddress() (string, int) {
	c.hostOnce.Do(func() { c.host, c.port = serverAddress(c.url) })
	return c.host, c.port
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
	if c.m.noTraces {
		if !trace.SpanFromContext(ctx).IsRecording() {
			// What the no-op tracer would return, without its context
			// allocation: ctx already holds a non-recording span (or
			// none), and the call's span is a no-op.
			return ctx, noopSpan
		}
		return c.m.tracer.Start(ctx, c.spanName())
	}
	kind := trace.SpanKindClient
	var name string
	var attrs []attribute.KeyValue
	if c.sdkSpan = sdkSpansCall(ctx, req); c.sdkSpan {
		// The SDK's span already carries the gen_ai.* request and usage
		// attributes: sluice.call adds only what the SDK lacks.
		name, kind = telemetry.SpanCall, trace.SpanKindInternal
	} else {
		// The name and the common attributes are the same for every call
		// to this model: take them from the cache the metrics use.
		sets := c.metricSets("", "")
		name = sets.spanName
		attrs = append(make([]attribute.KeyValue, 0, len(sets.attrs)+3), sets.attrs...)
		attrs = append(attrs, telemetry.AttrRequestStream.Bool(c.fields.Stream))
		if c.fields.MaxTokens > 0 {
			attrs = append(attrs, telemetry.AttrRequestMaxTokens.Int64(c.fields.MaxTokens))
		}
	}
	if c.injected {
		attrs = append(attrs, telemetry.AttrUsageIncludeInjected.Bool(true))
	}
	return c.m.tracer.Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
}

// spanName is the GenAI span's name, "{operation} {model}".
func (c *meterCall) spanName() string {
	return strings.TrimSpace(c.api.Operation() + " " + c.fields.Model)
}

// attrs are the attributes common to the span and every metric.
func (c *meterCall) attrs() []attribute.KeyValue {
	host, port := c.serverAddress()
	a := make([]attribute.KeyValue, 0, 7) // room for a response model and an error type
	a = append(a,
		telemetry.AttrProviderName.String(c.kind.String()),
		telemetry.AttrOperationName.String(c.api.Operation()),
		telemetry.AttrServerAddress.String(host),
	)
	if port > 0 {
		a = append(a, telemetry.AttrServerPort.Int(port))
	}
	if c.fields.Model != "" {
		a = append(a, telemetry.AttrRequestModel.String(c.fields.Model))
	}
	return a
}

// fail ends a call that got no usable body: a transport error (err) or an
// error status (err nil, status set).
func (c *meterCall) fail(errType string, status int, err error) {
	if c.m.ins.duration.Enabled(c.ctx) {
		c.m.ins.recordDuration(c.ctx, time.Since(c.start), c.metricSets("", errType))
	}
	if c.span.IsRecording() {
		if status != 0 {
			c.span.SetAttributes(telemetry.AttrHTTPStatus.Int(status), telemetry.AttrErrorType.String(errType))
		} else {
			c.span.SetAttributes(telemetry.AttrErrorType.String(errType))
		}
	}
	c.span.SetStatus(codes.Error, errType)
	if err != nil {
		c.span.RecordError(err) // a transport error: no text of the call
	}
	c.span.End()
}

func (c *meterCall) firstChunk() {
	d := time.Since(c.start)
	if c.span.IsRecording() {
		c.span.SetAttributes(telemetry.AttrTimeToFirstChunk.Float64(d.Seconds()))
	}
	if c.m.ins.firstChunk.Enabled(c.ctx) {
		c.m.ins.recordFirstChunk(c.ctx, d, c.metricSets("", ""))
	}
}

// done receives the usage when the body ends; it runs once.
func (c *meterCall) done(u usage.Usage, err error) {
	d := time.Since(c.start)
	errType := bodyErrorType(u, err)
	if errType != "" {
		if err == nil {
			err = fmt.Errorf("sluice: the response reported %s", errType)
		}
		c.span.SetStatus(codes.Error, errType)
	}
	if c.span.IsRecording() { // else nobody reads them
		c.span.SetAttributes(c.endAttrs(u, errType)...)
	}
	if c.m.ins.enabled(c.ctx) {
		sets := c.metricSets(u.ResponseModel, errType)
		if u.Known {
			c.m.ins.recordTokens(c.ctx, u.TotalInputTokens(), u.OutputTokens, sets)
		}
		c.m.ins.recordDuration(c.ctx, d, sets)
	}
	c.span.End()
	if f := c.m.cfg.OnUsage; f != nil {
		f(c.ctx, c.report(u, d, err))
	}
}

// endAttrs are the attributes a 2xx call's span gets when its body ends, in
// one SetAttributes call. The call's common attributes (attrs) are on the
// span since its start; a span the SDK made for the call already carries
// the response model and the usage, so sluice.call gets only the status and
// whether the usage is known.
func (c *meterCall) endAttrs(u usage.Usage, errType string) []attribute.KeyValue {
	a := make([]attribute.KeyValue, 0, 9)
	a = append(a, telemetry.AttrHTTPStatus.Int(c.status), telemetry.AttrUsageKnown.Bool(u.Known))
	if c.sdkSpan {
		return a
	}
	if u.ResponseModel != "" {
		a = append(a, telemetry.AttrResponseModel.String(u.ResponseModel))
	}
	if errType != "" {
		a = append(a, telemetry.AttrErrorType.String(errType))
	}
	if u.Known {
		a = append(a,
			telemetry.AttrUsageInputTokens.Int64(u.TotalInputTokens()),
			telemetry.AttrUsageOutputTokens.Int64(u.OutputTokens),
			telemetry.AttrUsageCacheRead.Int64(u.CacheReadInputTokens),
			telemetry.AttrUsageCacheCreation.Int64(u.CacheCreationInputTokens),
			telemetry.AttrUsageReasoning.Int64(u.ReasoningTokens))
	}
	return a
}

// metricSets returns the prebuilt metric attribute options of the call
// with this response model and error type.
func (c *meterCall) metricSets(responseModel, errType string) *meterSets {
	host, port := c.serverAddress()
	k := meterSetKey{kind: c.kind, api: c.api, host: host, port: port, model: c.fields.Model,
		responseModel: responseModel, errType: errType}
	return c.m.sets.Get(k, func() *meterSets {
		a := c.attrs()
		if responseModel != "" {
			a = append(a, telemetry.AttrResponseModel.String(responseModel))
		}
		if errType != "" {
			a = append(a, telemetry.AttrErrorType.String(errType))
		}
		return newMeterSets(a, c.spanName())
	})
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
