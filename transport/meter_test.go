package transport

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/sluicehq/sluice/internal/usage"
	"github.com/sluicehq/sluice/telemetry"
)

const (
	meterAnthropicJSON = `{"id":"msg_1","type":"message","model":"claude-x-20250101","content":[{"type":"text","text":"SECRET COMPLETION"}],` +
		`"usage":{"input_tokens":10,"cache_creation_input_tokens":5,"cache_read_input_tokens":100,"output_tokens":7}}`
	meterAnthropicSSE = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-x-20250101\",\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"SECRET COMPLETION\"}}\n\n" +
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":7}}\n\n" +
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
	meterChatSSE = "data: {\"id\":\"c\",\"model\":\"gpt-x-2025\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"SECRET COMPLETION\"}}],\"usage\":null}\n\n" +
		"data: {\"id\":\"c\",\"model\":\"gpt-x-2025\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3}}\n\n" +
		"data: [DONE]\n\n"
)

// meterRig is a Meter over a fake provider, with recording telemetry.
type meterRig struct {
	rt      http.RoundTripper
	srv     *httptest.Server
	spans   *tracetest.SpanRecorder
	tp      *sdktrace.TracerProvider
	metrics *sdkmetric.ManualReader
	mu      sync.Mutex
	reports []UsageReport
	bodies  [][]byte // request bodies the server received
}

// newMeterRig meters calls to handler with the settings s; the rig
// collects the usage reports unless s has its own OnUsage.
func newMeterRig(t *testing.T, handler func(w http.ResponseWriter, r *http.Request), s MeterSettings) *meterRig {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) })
	g := &meterRig{spans: tracetest.NewSpanRecorder(), metrics: sdkmetric.NewManualReader()}
	g.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(g.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(g.metrics))
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if int64(len(b)) != r.ContentLength {
			t.Errorf("server got %d bytes, Content-Length %d", len(b), r.ContentLength)
		}
		g.mu.Lock()
		g.bodies = append(g.bodies, b)
		g.mu.Unlock()
		handler(w, r)
	}))
	t.Cleanup(g.srv.Close)
	if s.OnUsage == nil {
		s.OnUsage = func(_ context.Context, r UsageReport) { g.mu.Lock(); g.reports = append(g.reports, r); g.mu.Unlock() }
	}
	g.rt = Meter(g.srv.Client().Transport, s, WithTelemetry(telemetry.WithTracerProvider(g.tp), telemetry.WithMeterProvider(mp)))
	return g
}

func meterServe(ct, body string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ct)
		io.WriteString(w, body)
	}
}

// call sends body to path and reads the whole response.
func (g *meterRig) call(t *testing.T, ctx context.Context, path, body, userAgent string) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, g.srv.URL+path, strings.NewReader(body))
	if userAgent != "" {
		req.Header.Set("User-Agent", userAgent)
	}
	resp, err := g.rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp
}

func meterSpanAttrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, a := range s.Attributes() {
		m[a.Key] = a.Value
	}
	return m
}

func (g *meterRig) collect(t *testing.T) map[string]metricdata.Aggregation {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := g.metrics.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name+" "+m.Unit] = m.Data
		}
	}
	return out
}

func TestMeterAnthropicJSON(t *testing.T) {
	g := newMeterRig(t, meterServe("application/json", meterAnthropicJSON), MeterSettings{})
	g.call(t, context.Background(), "/v1/messages", `{"model":"claude-x","max_tokens":50,"messages":[{"role":"user","content":"SECRET PROMPT"}]}`, "")

	ended := g.spans.Ended()
	if len(ended) != 1 {
		t.Fatalf("%d spans, want 1", len(ended))
	}
	s := ended[0]
	a := meterSpanAttrs(s)
	if s.Name() != "chat claude-x" || s.SpanKind() != trace.SpanKindClient {
		t.Fatalf("span %q kind %v, want CLIENT \"chat claude-x\"", s.Name(), s.SpanKind())
	}
	want := map[attribute.Key]any{
		"gen_ai.provider.name": "anthropic", "gen_ai.operation.name": "chat", "gen_ai.request.model": "claude-x",
		"gen_ai.response.model": "claude-x-20250101", "gen_ai.usage.input_tokens": int64(115), "gen_ai.usage.output_tokens": int64(7),
		"gen_ai.usage.cache_read.input_tokens": int64(100), "gen_ai.usage.cache_creation.input_tokens": int64(5),
		"gen_ai.request.max_tokens": int64(50),
	}
	for k, v := range want {
		if a[k].AsInterface() != v {
			t.Errorf("%s = %v, want %v", k, a[k].AsInterface(), v)
		}
	}
	for _, kv := range s.Attributes() {
		if strings.Contains(kv.Value.String(), "SECRET") {
			t.Fatalf("span records prompt or completion text: %s", kv.Key)
		}
	}

	m := g.collect(t)
	tok, ok := m["gen_ai.client.token.usage {token}"].(metricdata.Histogram[int64])
	if !ok || len(tok.DataPoints) != 2 {
		t.Fatalf("token usage histogram: %+v", m)
	}
	for _, p := range tok.DataPoints {
		typ, _ := p.Attributes.Value(telemetry.AttrTokenType)
		want := map[string]int64{"input": 115, "output": 7}[typ.AsString()]
		if p.Sum != want || p.Count != 1 || len(p.Bounds) != len(telemetry.GenAITokenUsageBuckets) {
			t.Fatalf("%s tokens: sum %d count %d bounds %v", typ.AsString(), p.Sum, p.Count, p.Bounds)
		}
		if _, ok := p.Attributes.Value(telemetry.AttrResponseModel); !ok {
			t.Fatal("token usage lacks gen_ai.response.model")
		}
	}
	dur, ok := m["gen_ai.client.operation.duration s"].(metricdata.Histogram[float64])
	if !ok || len(dur.DataPoints) != 1 || dur.DataPoints[0].Bounds[0] != 0.01 {
		t.Fatalf("operation duration: %+v", m["gen_ai.client.operation.duration s"])
	}
	if _, ok := m["gen_ai.client.operation.time_to_first_chunk s"]; ok {
		t.Fatal("time_to_first_chunk recorded for a JSON response")
	}
	if len(g.reports) != 1 || g.reports[0].Err != nil || g.reports[0].Usage.TotalInputTokens != 115 || !g.reports[0].Usage.Known {
		t.Fatalf("usage reports %+v, want one successful", g.reports)
	}
}

func TestMeterStreams(t *testing.T) {
	tests := []struct {
		name, path, req, resp string
		settings              MeterSettings
		wantIn, wantOut       int64
		wantKnown             bool
	}{
		{"anthropic", "/v1/messages", `{"model":"claude-x","stream":true}`, meterAnthropicSSE, MeterSettings{}, 10, 7, true},
		{"openai chat with StreamUsage", "/v1/chat/completions", `{"model":"gpt-x","messages":[],"stream":true}`, meterChatSSE,
			MeterSettings{StreamUsage: true}, 12, 3, true},
		{"openai chat without usage", "/v1/chat/completions", `{"model":"gpt-x","messages":[],"stream":true}`,
			"data: {\"model\":\"gpt-x-2025\",\"choices\":[],\"usage\":null}\n\ndata: [DONE]\n\n", MeterSettings{}, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newMeterRig(t, meterServe("text/event-stream", tt.resp), tt.settings)
			g.call(t, context.Background(), tt.path, tt.req, "")
			r := g.reports
			if len(r) != 1 || r[0].Err != nil || !r[0].Stream || r[0].Usage.Known != tt.wantKnown ||
				r[0].Usage.TotalInputTokens != tt.wantIn || r[0].Usage.OutputTokens != tt.wantOut {
				t.Fatalf("reports %+v", r)
			}
			m := g.collect(t)
			ttfc, ok := m["gen_ai.client.operation.time_to_first_chunk s"].(metricdata.Histogram[float64])
			if !ok || ttfc.DataPoints[0].Count != 1 {
				t.Fatal("no time_to_first_chunk for a stream")
			}
			_, hasTokens := m["gen_ai.client.token.usage {token}"]
			if hasTokens != tt.wantKnown {
				t.Fatalf("token usage recorded = %v with usage known = %v", hasTokens, tt.wantKnown)
			}
			a := meterSpanAttrs(g.spans.Ended()[0])
			if a[telemetry.AttrUsageKnown].AsBool() != tt.wantKnown {
				t.Fatalf("sluice.usage.known = %v", a[telemetry.AttrUsageKnown])
			}
		})
	}
}

func TestMeterStreamUsageRewritesTheBody(t *testing.T) {
	g := newMeterRig(t, meterServe("text/event-stream", meterChatSSE), MeterSettings{StreamUsage: true})
	g.call(t, context.Background(), "/v1/chat/completions", `{"model":"gpt-x","messages":[{"role":"user","content":"hi"}],"stream":true}`, "")
	g.call(t, context.Background(), "/v1/chat/completions", `{"model":"gpt-x","stream_options":{"include_obfuscation":false},"stream":true}`, "")
	for _, b := range g.bodies {
		var v struct {
			Model         string
			StreamOptions map[string]bool `json:"stream_options"`
		}
		if err := json.Unmarshal(b, &v); err != nil || !v.StreamOptions["include_usage"] || v.Model != "gpt-x" {
			t.Fatalf("server got %s", b)
		}
	}
	if !strings.Contains(string(g.bodies[1]), `"include_obfuscation":false`) {
		t.Fatalf("other stream options lost: %s", g.bodies[1])
	}
}

func TestMeterTruncatedStream(t *testing.T) {
	cut := meterAnthropicSSE[:strings.Index(meterAnthropicSSE, "event: message_delta")]
	g := newMeterRig(t, meterServe("text/event-stream", cut), MeterSettings{})
	g.call(t, context.Background(), "/v1/messages", `{"model":"claude-x","stream":true}`, "")
	r := g.reports
	if len(r) != 1 || !errors.Is(r[0].Err, usage.ErrTruncated) || r[0].Usage.InputTokens != 10 || r[0].Usage.OutputTokens != 1 {
		t.Fatalf("reports %+v: want one failed report with what message_start said", r)
	}
	s := g.spans.Ended()[0]
	if a := meterSpanAttrs(s); a[telemetry.AttrErrorType].AsString() != "truncated" || s.Status().Code.String() != "Error" {
		t.Fatalf("span error.type %v status %v", a[telemetry.AttrErrorType], s.Status())
	}
}

func TestMeterSpanUnderAnthropicSDK(t *testing.T) {
	g := newMeterRig(t, meterServe("application/json", meterAnthropicJSON), MeterSettings{})
	ctx, parent := g.tp.Tracer("sdk").Start(context.Background(), "anthropic.messages.create")
	g.call(t, ctx, "/v1/messages", `{"model":"claude-x"}`, "Anthropic/Go 2.15.0")
	parent.End()
	// Without a parent span the SDK made none: the meter's span is GenAI.
	g.call(t, context.Background(), "/v1/messages", `{"model":"claude-x"}`, "Anthropic/Go 2.15.0")
	var names []string
	for _, s := range g.spans.Ended() {
		names = append(names, s.Name()+"/"+s.SpanKind().String())
	}
	want := "sluice.call/internal anthropic.messages.create/internal chat claude-x/client"
	if strings.Join(names, " ") != want {
		t.Fatalf("spans %v, want %s", names, want)
	}
}

func TestMeterErrors(t *testing.T) {
	g := newMeterRig(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(529)
		io.WriteString(w, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)
	}, MeterSettings{})
	resp := g.call(t, context.Background(), "/v1/messages", `{"model":"claude-x"}`, "")
	if resp.StatusCode != 529 {
		t.Fatal(resp.Status)
	}
	if len(g.reports) != 0 {
		t.Fatalf("usage reported for a 529: %+v", g.reports)
	}
	dur := g.collect(t)["gen_ai.client.operation.duration s"].(metricdata.Histogram[float64])
	if et, _ := dur.DataPoints[0].Attributes.Value(telemetry.AttrErrorType); et.AsString() != "529" {
		t.Fatalf("error.type = %v, want 529", et)
	}
}

func TestMeterPassesOtherRequestsThrough(t *testing.T) {
	g := newMeterRig(t, meterServe("application/json", `{}`), MeterSettings{})
	req, _ := http.NewRequest(http.MethodGet, g.srv.URL+"/v1/models", nil)
	resp, err := g.rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := len(g.spans.Ended()); n != 0 {
		t.Fatalf("%d spans for a non-model request", n)
	}
}

func TestAddIncludeUsage(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"model":"m","stream":true}`, `{"stream_options":{"include_usage":true},"model":"m","stream":true}`},
		{` {}`, `{"stream_options":{"include_usage":true}}`},
		{`{"stream_options":null,"stream":true}`, `{"stream":true,"stream_options":{"include_usage":true}}`},
		{`{"stream_options":{"include_usage":false}}`, `{"stream_options":{"include_usage":true}}`},
		{`[1]`, ``}, {`{"a":`, ``}, {`{"stream_options":1}`, ``},
	}
	for _, tt := range tests {
		got, err := addIncludeUsage([]byte(tt.in))
		if (err != nil) != (tt.want == "") || string(got) != tt.want {
			t.Errorf("addIncludeUsage(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func FuzzAddIncludeUsage(f *testing.F) {
	for _, s := range []string{`{"model":"m","stream":true}`, `{}`, `{"stream_options":{"x":1}}`, `{"stream_options":null}`, `[]`, `{"a":"\"stream_options\""}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := addIncludeUsage(b)
		if err != nil {
			return
		}
		var v struct {
			StreamOptions struct {
				IncludeUsage bool `json:"include_usage"`
			} `json:"stream_options"`
		}
		if json.Unmarshal(out, &v) != nil || !v.StreamOptions.IncludeUsage {
			t.Fatalf("addIncludeUsage(%q) = %q: not an object asking for usage", b, out)
		}
	})
}

// TestMeterRepairsModelsAlike sends a request and gets a response that
// name the same model with invalid UTF-8 in it: both attributes must be
// valid UTF-8 (OTLP rejects a batch otherwise) and equal, repaired byte by
// byte as a JSON decoder reads them.
func TestMeterRepairsModelsAlike(t *testing.T) {
	const model = "gpt-\xff\xfe-x"
	g := newMeterRig(t, meterServe("application/json", `{"id":"c","model":"`+model+`","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}`), MeterSettings{})
	g.call(t, context.Background(), "/v1/chat/completions", `{"model":"`+model+`","messages":[]}`, "")
	ended := g.spans.Ended()
	if len(ended) != 1 {
		t.Fatalf("%d spans, want 1", len(ended))
	}
	a := meterSpanAttrs(ended[0])
	req, resp := a["gen_ai.request.model"].AsString(), a["gen_ai.response.model"].AsString()
	var want string
	if err := json.Unmarshal([]byte(`"`+model+`"`), &want); err != nil {
		t.Fatal(err)
	}
	if req != want || resp != want {
		t.Fatalf("request model %q, response model %q, want both %q", req, resp, want)
	}
}
