package llmtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"
)

// maxBody bounds the request bodies the fake reads.
const maxBody = 32 << 20

// Server is a fake Anthropic and OpenAI API. It is safe for concurrent use.
// Make one with NewServer (listening on loopback, like httptest.NewServer)
// or NewHandler (an http.Handler only).
type Server struct {
	// URL is the base URL of a server made by NewServer, like
	// "http://127.0.0.1:1234", with no trailing slash: the base URL of
	// anthropic-sdk-go is URL and that of openai-go is URL+"/v1/". It is
	// "" for a server made by NewHandler.
	URL string

	cfg     Config
	ts      *httptest.Server
	ctx     context.Context // cancelled by Close: ends in-flight responses
	cancel  context.CancelFunc
	quotas  *quotas
	cache   *promptCache
	faults  *faults
	outages *outages
	rec     *recorder
	seq     atomic.Int64 // ids of requests and messages
}

// NewServer starts a Server on 127.0.0.1 with cfg. The caller must Close
// it.
func NewServer(cfg Config) *Server {
	s := NewHandler(cfg)
	s.ts = httptest.NewServer(s)
	s.URL = s.ts.URL
	return s
}

// NewHandler returns a Server that does not listen: use it as an
// http.Handler (its ServeHTTP) in your own server or with
// httptest.ResponseRecorder. Close still ends its in-flight responses.
// Connection faults (FaultReset, FaultTruncate) need a ResponseWriter that
// supports hijacking; with one that does not, a reset writes nothing and a
// truncated body simply ends early.
func NewHandler(cfg Config) *Server {
	cfg = cfg.withDefaults()
	now := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		cfg:     cfg,
		ctx:     ctx,
		cancel:  cancel,
		quotas:  &quotas{q: cfg.Quota, window: cfg.Window, fill: cfg.InitialFill, start: now, limits: map[quotaKey]*limits{}},
		cache:   &promptCache{min: cfg.CacheMinTokens, ttl: cfg.CacheTTL, m: map[cacheKey]time.Time{}},
		faults:  newFaults(cfg.Seed, cfg.Faults),
		outages: &outages{start: now, fixed: append([]Outage(nil), cfg.Outages...)},
		rec:     newRecorder(cfg.MaxRecorded),
	}
}

// Close ends every in-flight response (slow streams included: their
// connections are cut), shuts the listener down and waits for the handlers
// to return. It is safe to call more than once.
func (s *Server) Close() {
	s.cancel()
	if s.ts != nil {
		s.ts.CloseClientConnections()
		s.ts.Close()
	}
}

// Client returns an *http.Client for a server made by NewServer whose idle
// connections Close closes, or http.DefaultClient for one made by
// NewHandler.
func (s *Server) Client() *http.Client {
	if s.ts == nil {
		return http.DefaultClient
	}
	return s.ts.Client()
}

// Inject queues scripted faults. Each applies to the next Count (default
// 1) requests whose path matches its Path, in FIFO order: a request takes
// the first queued fault that matches it, in preference to any
// probabilistic fault. A scripted fault is used up by its request even when
// the quota then refuses that request.
func (s *Server) Inject(f ...Fault) { s.faults.inject(f...) }

// StartOutage makes every request fail with status (0 means 529) for d from
// now.
func (s *Server) StartOutage(d time.Duration, status int) {
	s.outages.add(time.Now(), d, status)
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats { return s.rec.snapshot() }

// Requests returns one record per arrival (attempt), in arrival order.
func (s *Server) Requests() []Request { return s.rec.requests() }

// ResetStats zeroes the counters and forgets the recorded requests. Quota
// buckets, queued faults and announced retry-after moments are kept.
func (s *Server) ResetStats() { s.rec.reset() }

// ServeHTTP answers one request as the provider its path names would.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(s.ctx, cancel)()

	body, readErr := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	d, api := route(r)
	x := &exchange{s: s, w: w, r: r, ctx: ctx, now: now, api: api, d: d}
	x.reqID = fmt.Sprintf("req_llmtest%013d", s.seq.Add(1))
	var perr error
	switch {
	case readErr != nil:
		perr = fmt.Errorf("%w: reading body: %v", errBadRequest, readErr)
	case api != epOther:
		x.c, perr = parseCall(body, api)
	}
	x.rec = s.rec.arrive(now, r, body, x.c)
	defer s.rec.leave()
	x.run(perr)
}
