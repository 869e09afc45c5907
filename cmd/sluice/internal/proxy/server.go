package proxy

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// MaxHeaderBytes bounds a request's header block; a flood of headers gets
// 431 from net/http before the proxy sees it.
const MaxHeaderBytes = 64 << 10

// Server is a running `sluice proxy`: the forwarded routes plus /healthz,
// /readyz and /metrics.
type Server struct {
	cfg     Config
	logger  *slog.Logger
	stack   stack
	store   *sharedStore
	obs     *observability
	handler *Handler
	http    *http.Server
	ready   atomic.Bool
}

// Deps lets a test or a benchmark replace what New would build: Base is
// the HTTP transport beneath the stack (nil: transport's default).
type Deps struct {
	Base http.RoundTripper
}

// New builds a Server from c: telemetry, the Redis store (with --redis),
// the sluice stack and the handler. Close releases them if Serve is never
// called.
func New(ctx context.Context, c Config, logger *slog.Logger, d Deps) (*Server, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: c, logger: logger}
	obs, err := setupTelemetry(ctx, c)
	if err != nil {
		return nil, err
	}
	s.obs = obs
	if c.Redis != "" {
		if s.store, err = openStore(c, logger, obs.options); err != nil {
			_ = obs.shutdown(ctx)
			return nil, err
		}
	}
	deps := stackDeps{base: d.Base, tel: obs.options, logger: logger}
	if s.store != nil {
		deps.store = s.store.store
	}
	s.stack = newStack(c, deps)
	if s.handler, err = NewHandler(c, s.stack, logger); err != nil {
		_ = s.Close()
		return nil, err
	}
	s.http = &http.Server{
		Handler:           s.mux(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          log.New(slogWriter{logger}, "", 0),
	}
	return s, nil
}

func (s *Server) mux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	if s.obs.metrics != nil {
		mux.Handle("GET /metrics", s.obs.metrics)
	}
	mux.Handle("/", s.handler)
	return mux
}

// readyz answers 200 while the proxy takes calls and 503 once it drains.
// A Redis outage does not make it unready: the store falls back to local
// limits and the proxy keeps serving.
func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if !s.ready.Load() {
		http.Error(w, "draining", http.StatusServiceUnavailable)
		return
	}
	msg := "ok\n"
	if s.store != nil && !s.store.store.Shared() {
		msg = "ok (redis unreachable: local limits)\n"
	}
	_, _ = w.Write([]byte(msg))
}

// Serve serves on l until ctx ends, then shuts down gracefully: it stops
// accepting, lets in-flight calls and streams finish within
// Config.ShutdownGrace, closes what is left, and releases the stack.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	s.ready.Store(true)
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(l) }()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		err = s.shutdown(errc)
	}
	return errors.Join(err, s.Close())
}

func (s *Server) shutdown(errc <-chan error) error {
	s.ready.Store(false)
	s.logger.Info("shutting down: draining in-flight calls", "grace", s.cfg.ShutdownGrace.String())
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownGrace)
	defer cancel()
	err := s.http.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		s.logger.Warn("grace period over: closing the calls still in flight")
		err = s.http.Close()
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// Close releases the stack, the Redis store and the telemetry providers
// (flushing what they hold).
func (s *Server) Close() error {
	var errs []error
	if s.stack.Transport != nil {
		errs = append(errs, s.stack.Close())
	}
	errs = append(errs, s.store.Close())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	errs = append(errs, s.obs.shutdown(ctx))
	return errors.Join(errs...)
}

// Run listens on c.Listen and serves until ctx ends (main cancels it on
// SIGTERM or SIGINT).
func Run(ctx context.Context, c Config, logger *slog.Logger) error {
	s, err := New(ctx, c, logger, Deps{})
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", c.Listen)
	if err != nil {
		_ = s.Close()
		return fmt.Errorf("listen: %w", err)
	}
	logger.Info("sluice proxy listening", "addr", l.Addr().String(),
		"anthropic_upstream", c.AnthropicUpstream, "openai_upstream", c.OpenAIUpstream,
		"redis", c.Redis != "", "metrics", c.Metrics, "otlp", c.OTLP)
	err = s.Serve(ctx, l)
	logger.Info("sluice proxy stopped")
	return err
}
