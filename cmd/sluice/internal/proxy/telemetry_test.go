package proxy

import (
	"compress/gzip"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sluicehq/sluice/llmtest"
)

// otlpReceiver is a minimal OTLP/HTTP receiver that keeps the spans the
// real exporter sends and accepts metrics.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (rc *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	if r.URL.Path == "/v1/traces" {
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				rc.spans = append(rc.spans, ss.Spans...)
			}
		}
		rc.mu.Unlock()
	}
	// An empty message is a valid response to either export.
	_, _ = w.Write(nil)
}

// A caller's W3C trace context carries on through the proxy: the spans it
// exports over OTLP (configured by the OTEL_* variables) belong to the
// caller's trace under the caller's span, the upstream request carries the
// same trace, and no span holds the API key or the prompt.
func TestTraceContextContinuesThroughOTLP(t *testing.T) {
	rc := &otlpReceiver{}
	col := httptest.NewServer(rc)
	defer col.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", col.URL)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")

	var upstreamTrace atomic.Value
	srv := llmtest.NewServer(llmtest.Config{})
	defer srv.Close()
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		upstreamTrace.Store(r.Header.Get("traceparent"))
		srv.ServeHTTP(w, r)
	})
	c := testConfig(up)
	c.OTLP = true
	p := startProxy(t, c)

	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	resp, body := post(t, p.URL+"/v1/messages", `{"model":"claude-trace","max_tokens":16,"messages":[{"role":"user","content":"`+prompt+`"}]}`,
		map[string]string{"x-api-key": anthropicKey, "traceparent": "00-" + traceID + "-" + parentID + "-01"})
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if err := p.Shutdown(); err != nil { // flushes the spans
		t.Fatal(err)
	}
	if tp, _ := upstreamTrace.Load().(string); !strings.Contains(tp, traceID) || strings.Contains(tp, parentID) {
		t.Errorf("upstream traceparent %q: want the caller's trace under the proxy's attempt span", tp)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.spans) == 0 {
		t.Fatal("no spans exported")
	}
	names := make([]string, 0, len(rc.spans))
	for _, s := range rc.spans {
		names = append(names, s.Name)
	}
	t.Logf("spans: %q", names)
	var underCaller bool
	for _, s := range rc.spans {
		if hex.EncodeToString(s.TraceId) != traceID {
			t.Errorf("span %q in trace %x, want the caller's", s.Name, s.TraceId)
		}
		if hex.EncodeToString(s.ParentSpanId) == parentID {
			underCaller = true
		}
		dump := s.String()
		if strings.Contains(dump, anthropicKey) || strings.Contains(dump, "secret recipe") {
			t.Errorf("span %q holds the key or the prompt", s.Name)
		}
	}
	if !underCaller {
		t.Errorf("no span is a child of the caller's span")
	}
}
