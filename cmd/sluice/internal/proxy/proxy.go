package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// routes maps the paths the proxy forwards to their provider.
var routes = map[string]Provider{
	"/v1/messages":              Anthropic,
	"/v1/messages/count_tokens": Anthropic,
	"/v1/chat/completions":      OpenAI,
	"/v1/responses":             OpenAI,
}

// Handler forwards the LLM routes through a sluice stack. It is an
// http.Handler; Server adds the health, readiness and metrics endpoints.
type Handler struct {
	timeout time.Duration
	logger  *slog.Logger
	proxies [2]*httputil.ReverseProxy // by Provider
}

// NewHandler returns a Handler that sends c's routes to their upstreams
// through rt (the sluice stack).
func NewHandler(c Config, rt http.RoundTripper, logger *slog.Logger) (*Handler, error) {
	h := &Handler{timeout: c.Timeout, logger: logger}
	for p, raw := range map[Provider]string{Anthropic: c.AnthropicUpstream, OpenAI: c.OpenAIUpstream} {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("%s upstream: %w", p, err)
		}
		h.proxies[p] = h.reverseProxy(p, u, releaseOnHeaders{rt})
	}
	return h, nil
}

func (h *Handler) reverseProxy(p Provider, upstream *url.URL, rt http.RoundTripper) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			// SetURL joins the paths; keep the client's query as it was.
			pr.Out.URL.RawQuery = pr.In.URL.RawQuery
			// Let net/http negotiate gzip and decompress, so the stack can
			// read the usage from the body; the client gets it plain.
			pr.Out.Header.Del("Accept-Encoding")
		},
		Transport:     rt,
		FlushInterval: -1, // every write of an event reaches the client at once
		BufferPool:    copyBuffers,
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode >= 400 {
				// sluice has retried what was worth retrying: the client
				// must not retry the final answer again.
				resp.Header.Set("x-should-retry", "false")
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			ref := refusalOf(r.Context(), err)
			ref.write(w, p)
			h.refused(r, p, ref)
		},
		ErrorLog: log.New(slogWriter{h.logger}, "", 0),
	}
}

// ServeHTTP forwards a routed call, or answers 404 in the provider's shape.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	p, ok := routes[strings.TrimSuffix(r.URL.Path, "/")]
	if !ok {
		p = guessProvider(r)
		ref := refusal{status: http.StatusNotFound, reason: "not_found", message: "sluice: no route for " + r.Method + " " + safePath(r.URL.Path)}
		ref.write(w, p)
		h.refused(r, p, ref)
		return
	}
	if err := bufferBody(r); err != nil {
		ref := refusal{status: http.StatusRequestEntityTooLarge, reason: "too_large", message: err.Error()}
		if !errors.Is(err, errTooLarge) {
			ref = refusal{status: 499, reason: "canceled", message: "client closed the request"}
		}
		ref.write(w, p)
		h.refused(r, p, ref)
		return
	}
	ctx, end := withCallDeadline(continueTrace(r), callTimeout(r, h.timeout))
	defer end()
	sw := &statusWriter{ResponseWriter: w}
	h.proxies[p].ServeHTTP(sw, r.WithContext(ctx))
	if sw.refusal == "" {
		h.logger.LogAttrs(r.Context(), slog.LevelInfo, "call",
			slog.String("provider", p.String()), slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", sw.status), slog.Duration("duration", time.Since(start)),
			slog.String("request_id", requestID(sw.Header())))
	}
}

// refused logs a response the proxy wrote itself.
func (h *Handler) refused(r *http.Request, p Provider, ref refusal) {
	level := slog.LevelWarn
	if ref.status == http.StatusNotFound || ref.status == 499 {
		level = slog.LevelInfo
	}
	h.logger.LogAttrs(r.Context(), level, "refused",
		slog.String("provider", p.String()), slog.String("method", r.Method), slog.String("path", safePath(r.URL.Path)),
		slog.Int("status", ref.status), slog.String("reason", ref.reason), slog.String("message", ref.message))
}

func requestID(h http.Header) string {
	if id := h.Get("request-id"); id != "" {
		return id
	}
	return h.Get("x-request-id")
}

// safePath bounds an unrouted path for logs and messages.
func safePath(p string) string {
	if len(p) > 128 {
		return p[:128] + "…"
	}
	return p
}

var errTooLarge = fmt.Errorf("sluice: request body larger than the providers' limit of %d MB", MaxBody>>20)

// bufferBody reads r's body into memory (at most MaxBody), so the stack can
// replay it on a retry, and refuses a larger one before anything is sent.
func bufferBody(r *http.Request) error {
	if r.ContentLength > MaxBody {
		return errTooLarge
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	r.Body.Close()
	if err != nil {
		return err
	}
	if len(b) > MaxBody {
		return errTooLarge
	}
	r.ContentLength = int64(len(b))
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	return nil
}

// copyBuffers lends the reverse proxy its 32 KB copy buffers: without a
// pool each call allocates one, and the garbage costs throughput
// (BenchmarkProxyCPU, BenchmarkProxyThroughput).
var copyBuffers = &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}

type bufferPool struct{ p sync.Pool }

func (bp *bufferPool) Get() []byte  { return *bp.p.Get().(*[]byte) }
func (bp *bufferPool) Put(b []byte) { bp.p.Put(&b) }

// statusWriter remembers the status the reverse proxy wrote.
type statusWriter struct {
	http.ResponseWriter
	status  int
	refusal string
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		w.refusal = w.Header().Get(HeaderRefusal)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's Flush.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// slogWriter turns the reverse proxy's log.Logger lines (a body copy cut
// short, mostly a client that went away) into debug records.
type slogWriter struct{ l *slog.Logger }

func (s slogWriter) Write(b []byte) (int, error) {
	s.l.Debug(strings.TrimSpace(string(b)))
	return len(b), nil
}
