package llmtest

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"time"
)

// exchange is one request being answered.
type exchange struct {
	s      *Server
	w      http.ResponseWriter
	r      *http.Request
	ctx    context.Context // ends when the client leaves or the server closes
	now    time.Time       // arrival
	api    endpoint
	d      dialect
	c      call
	rec    *Request
	reqID  string
	fault  *Fault        // the fault applying to a 200 response, if any
	states []bucketState // rate-limit state for the headers
}

// apiError is an error response before the provider's formatting.
type apiError struct {
	status             int
	typ, code, message string
}

// run answers the request: outage, fault, validation, quota, response.
func (x *exchange) run(perr error) {
	if x.api == epOther {
		x.fail(apiError{status: http.StatusNotFound, message: "Not found: " + x.r.URL.Path})
		return
	}
	if x.r.Method != http.MethodPost {
		x.fail(apiError{status: http.StatusMethodNotAllowed, message: "Method not allowed: " + x.r.Method})
		return
	}
	if st, ok := x.s.outages.status(x.now); ok {
		x.fail(apiError{status: st})
		return
	}
	f, hasFault := x.s.faults.pick(x.r.URL.Path)
	delay := x.s.cfg.Latency
	if hasFault && f.Kind == FaultLatency {
		delay += f.Delay
	}
	if !sleep(x.ctx, delay) {
		x.cut()
		return
	}
	if hasFault && x.applyFault(f) {
		return
	}
	if perr != nil {
		x.fail(apiError{status: http.StatusBadRequest, typ: "invalid_request_error", message: perr.Error()})
		return
	}
	if x.api == epCountTokens {
		x.states = x.s.quotas.peek(x.quotaKey(), time.Now())
		x.send(rendered{body: x.d.countTokens(x.c)})
		return
	}
	x.admitAndServe()
}

// applyFault applies f and reports whether the response is finished.
func (x *exchange) applyFault(f Fault) bool {
	switch f.Kind {
	case FaultStatus:
		x.faultHeaders(f)
		x.fail(apiError{status: cmp0(f.Status, http.StatusInternalServerError), typ: f.ErrorType, code: f.ErrorCode})
		return true
	case FaultReset:
		x.reset()
		return true
	case FaultStreamError:
		if !x.c.Stream {
			typ := cmpStr(f.ErrorType, "overloaded_error")
			x.faultHeaders(f)
			x.fail(apiError{status: statusOfType(typ), typ: typ, code: f.ErrorCode})
			return true
		}
	}
	x.fault = &f
	return false
}

// faultHeaders sets the retry headers f scripts and records the moment they
// announce, for herd counting.
func (x *exchange) faultHeaders(f Fault) {
	h := x.w.Header()
	if f.ShouldRetry != "" {
		h.Set("x-should-retry", f.ShouldRetry)
	}
	if f.RetryAfter != "" {
		h.Set("retry-after", f.RetryAfter)
	}
	if f.RetryAfterMs != "" {
		h.Set("retry-after-ms", f.RetryAfterMs)
	}
	if d, ok := announcedDelay(f.RetryAfter, f.RetryAfterMs); ok {
		x.s.rec.announce(x.rec.KeyFingerprint, time.Now().Add(d))
	}
}

// announcedDelay is the wait a client honouring the SDKs' rules reads from
// the headers: retry-after-ms first, then retry-after in seconds.
func announcedDelay(ra, raMs string) (time.Duration, bool) {
	if ms, err := strconv.ParseFloat(raMs, 64); err == nil && ms >= 0 && ms < 1e12 {
		return time.Duration(ms * float64(time.Millisecond)), true
	}
	if s, err := strconv.ParseFloat(ra, 64); err == nil && s >= 0 && s < 1e9 {
		return time.Duration(s * float64(time.Second)), true
	}
	return 0, false
}

// quotaKey names the buckets of the request: its provider, key and model
// class.
func (x *exchange) quotaKey() quotaKey {
	return quotaKey{provider: x.d.name(), key: x.rec.KeyFingerprint, model: x.s.cfg.ModelClass(x.c.Model)}
}

// admitAndServe charges the quota and answers with the generated message.
func (x *exchange) admitAndServe() {
	out := x.s.cfg.OutputTokens(x.c.Model, x.c.InputTokens, x.c.MaxTokens)
	if x.c.HasMaxTokens {
		out = min(out, x.c.MaxTokens)
	}
	out = max(out, 0)
	used := out
	if x.fault != nil && x.fault.Kind == FaultStreamError {
		used = 0
	}
	k := x.quotaKey()
	now := time.Now()
	// The server knows at admission what the prompt cache holds, so the
	// ITPM charge can leave cache reads out.
	key := x.rec.KeyFingerprint
	if len(x.c.Breakpoints) > 0 {
		x.c.cache = x.s.cache.lookup(key, x.c.Model, x.c.Breakpoints, x.c.bounds, now)
	}
	dem := x.d.demand(&x.s.cfg, x.c, out, used)
	v := x.s.quotas.admit(k, dem, now)
	x.states = v.states
	if !v.ok {
		x.rateLimited(v, now)
		return
	}
	x.s.rec.add(func(s *Stats) { s.Admitted++ })
	if len(x.c.Breakpoints) > 0 {
		// The fake produces the response at once: every prefix at a
		// breakpoint is cached (or refreshed) from now on.
		x.s.cache.store(key, x.c.Model, x.c.Breakpoints, now)
	}
	// With a reservation (Anthropic ReserveMaxTokens, OpenAI TPM), settle
	// to the real output at the end.
	defer func() { x.s.quotas.settle(k, x.d.refund(&x.s.cfg, x.c, dem, used), time.Now()) }()
	resp := x.d.success(x, out)
	if x.send(resp) && resp.usage {
		x.s.rec.add(func(s *Stats) {
			s.InputTokens += int64(x.c.uncached())
			s.CacheReadTokens += int64(x.c.cache.read)
			s.CacheCreationTokens += int64(x.c.cache.creation)
			s.OutputTokens += int64(out)
		})
	}
}

// rateLimited answers a quota refusal with 429, retry-after computed from
// the buckets and x-should-retry: true. A request too large for a bucket
// gets no retry-after: waiting would not help.
func (x *exchange) rateLimited(v verdict, now time.Time) {
	if !v.tooLarge {
		h := x.w.Header()
		secs := max(1, int64(math.Ceil(v.wait.Seconds())))
		h.Set("retry-after", strconv.FormatInt(secs, 10))
		until := now.Add(time.Duration(secs) * time.Second)
		if x.s.cfg.RetryAfterMs {
			ms := max(1, int64(math.Ceil(float64(v.wait)/float64(time.Millisecond))))
			h.Set("retry-after-ms", strconv.FormatInt(ms, 10))
			until = now.Add(time.Duration(ms) * time.Millisecond)
		}
		h.Set("x-should-retry", "true")
		x.s.rec.announce(x.rec.KeyFingerprint, until)
	}
	x.fail(x.d.limitError(x.c, v))
}

// statusOfType maps an error type a stream can carry to the status a
// non-streaming response would have.
func statusOfType(typ string) int {
	switch typ {
	case "overloaded_error":
		return 529
	case "rate_limit_error", "requests", "tokens":
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

func cmp0(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func cmpStr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
