package transport

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// hostileRig is the full stack (New) over a server whose handler
// misbehaves, with the usage reports it makes.
type hostileRig struct {
	url    string
	tr     *Transport
	client *http.Client
	mu     sync.Mutex
	usage  []UsageReport
}

// newHostileRig serves h on loopback: for what only a real connection
// shows (sizes, hijacked connections).
func newHostileRig(t *testing.T, h http.HandlerFunc, rs RetrySettings) *hostileRig {
	t.Helper()
	limitLeaks(t)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return newHostileStack(t, srv.URL, nil, rs)
}

// newHostilePipeRig serves h over in-memory connections, for a test in a
// synctest bubble.
func newHostilePipeRig(t *testing.T, h http.HandlerFunc, rs RetrySettings) *hostileRig {
	t.Helper()
	srv := newPipeServer(t, h)
	return newHostileStack(t, srv.URL, srv.Transport(t), rs)
}

// newHostileStack builds New over base with the retry settings rs, whose
// backoff is 1 ms to 5 ms unless rs sets one.
func newHostileStack(t *testing.T, url string, base http.RoundTripper, rs RetrySettings) *hostileRig {
	g := &hostileRig{url: url}
	if rs.InitialBackoff == 0 && rs.MaxBackoff == 0 {
		rs.InitialBackoff, rs.MaxBackoff = time.Millisecond, 5*time.Millisecond
	}
	g.tr = New(base, WithRetry(rs),
		WithMeter(MeterSettings{OnUsage: func(_ context.Context, r UsageReport) {
			g.mu.Lock()
			g.usage = append(g.usage, r)
			g.mu.Unlock()
		}}))
	t.Cleanup(func() { g.tr.Close() })
	g.client = &http.Client{Transport: g.tr}
	return g
}

// post sends an Anthropic Messages request and returns the response (body
// unread) or the error.
func (g *hostileRig) post(ctx context.Context, stream bool) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url+"/v1/messages",
		bytes.NewReader(limitBody("claude-hostile", 40, 16, stream)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("x-api-key", limitTestKey)
	req.Header.Set("content-type", "application/json")
	return g.client.Do(req)
}

func (g *hostileRig) reports() []UsageReport {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]UsageReport(nil), g.usage...)
}

// hostileAllocated returns the bytes allocated while f ran (TotalAlloc, so
// garbage collected in between still counts: it bounds the peak too).
func hostileAllocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// hostileFill writes n bytes of filler to w from one 32 KiB block: the
// body is generated, never held.
func hostileFill(w io.Writer, n int64, b byte) error {
	block := bytes.Repeat([]byte{b}, 32<<10)
	for n > 0 {
		k := min(n, int64(len(block)))
		if _, err := w.Write(block[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

const hostileMaxAlloc = 16 << 20

// A 1 GB SSE 200 (and a 256 MB JSON one) with no usage in it streams through the whole
// stack with bounded allocation; the call is reported once, usage unknown.
func TestHostileHugeBodyWithoutUsage(t *testing.T) {
	for _, tc := range []struct {
		stream bool
		size   int64
	}{{false, 256 << 20}, {true, 1 << 30}} { // 1 GB once: -race reads ~100 MB/s
		stream, size := tc.stream, tc.size
		if testing.Short() {
			size = 64 << 20
		}
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			g := newHostileRig(t, func(w http.ResponseWriter, r *http.Request) {
				if stream {
					w.Header().Set("Content-Type", "text/event-stream")
					_, _ = io.WriteString(w, "event: content_block_delta\ndata: {\"pad\":\"")
					_ = hostileFill(w, size, 'x')
					_, _ = io.WriteString(w, "\"}\n\nevent: message_stop\ndata: {}\n\n")
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"content":[{"type":"text","text":"`)
				_ = hostileFill(w, size, 'x')
				_, _ = io.WriteString(w, `"}]}`)
			}, RetrySettings{})
			var n int64
			var err error
			grown := hostileAllocated(func() {
				var resp *http.Response
				if resp, err = g.post(context.Background(), stream); err != nil {
					return
				}
				n, err = io.CopyBuffer(io.Discard, struct{ io.Reader }{resp.Body}, make([]byte, 32<<10))
				resp.Body.Close()
			})
			if err != nil || n < size {
				t.Fatalf("read %d bytes of a %d-byte body: %v", n, size, err)
			}
			if grown > hostileMaxAlloc {
				t.Errorf("a %d MB body allocated %d MB through the stack, want < %d MB", size>>20, grown>>20, hostileMaxAlloc>>20)
			}
			rs := g.reports()
			if len(rs) != 1 || rs[0].Err != nil || rs[0].Usage.Known {
				t.Errorf("usage reports %+v, want one without error and with usage unknown", rs)
			}
			t.Logf("%d MB through the stack, %d KB allocated", n>>20, grown>>10)
		})
	}
}

// One SSE data line of 10 MB before the usage: it passes through intact,
// the usage after it is still read, and memory stays bounded.
func TestHostileHugeSSELine(t *testing.T) {
	const line = 10 << 20
	g := newHostileRig(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "event: message_start\ndata: {\"message\":{\"model\":\"claude-hostile\",\"usage\":{\"input_tokens\":7,\"output_tokens\":1}}}\n\n")
		_, _ = io.WriteString(w, "event: content_block_delta\ndata: {\"delta\":{\"text\":\"")
		_ = hostileFill(w, line, 'y')
		_, _ = io.WriteString(w, "\"}}\n\nevent: message_delta\ndata: {\"usage\":{\"output_tokens\":9}}\n\nevent: message_stop\ndata: {}\n\n")
	}, RetrySettings{})
	var n int64
	var err error
	grown := hostileAllocated(func() {
		var resp *http.Response
		if resp, err = g.post(context.Background(), true); err != nil {
			return
		}
		n, err = io.CopyBuffer(io.Discard, struct{ io.Reader }{resp.Body}, make([]byte, 32<<10))
		resp.Body.Close()
	})
	if err != nil || n < line {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	if grown > hostileMaxAlloc {
		t.Errorf("a 10 MB line allocated %d MB, want < %d MB", grown>>20, hostileMaxAlloc>>20)
	}
	rs := g.reports()
	if len(rs) != 1 || rs[0].Err != nil || rs[0].Usage.InputTokens != 7 || rs[0].Usage.OutputTokens != 9 {
		t.Errorf("usage reports %+v, want one with 7 in, 9 out", rs)
	}
}

// Absurd Retry-After values on a 429 are neither slept on nor allowed to
// shut the key for years: a value past the longest server delay gives the
// call up at once; one that overflows a Duration is no value, so the call
// is retried after one backoff step (here 1 ms, jittered into [0.5, 1] ms).
// Either way the next call to the same key goes through at once once the
// server recovers.
func TestHostileRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		header, value string
		backoff       bool // the value is ignored: one backoff step
	}{
		{"Retry-After", "1000000000000", true},     // 10^12 s: overflows a Duration
		{"Retry-After", "1000000000", false},       // 10^9 s: 31 years, fits
		{"retry-after-ms", "1000000000000", false}, // 10^12 ms: 31 years, fits
		{"Retry-After", strings.Repeat("9", 1<<20), true},
		{"Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT", false},
	} {
		t.Run(tc.header+"="+tc.value[:min(len(tc.value), 16)], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var mu sync.Mutex
				throttled := true
				g := newHostilePipeRig(t, func(w http.ResponseWriter, r *http.Request) {
					_, _ = io.Copy(io.Discard, r.Body)
					mu.Lock()
					th := throttled
					mu.Unlock()
					if th {
						w.Header().Set(tc.header, tc.value)
						w.Header().Set("Content-Type", "application/json")
						w.WriteHeader(http.StatusTooManyRequests)
						_, _ = io.WriteString(w, `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`)
						return
					}
					w.Header().Set("Content-Type", "application/json")
					_, _ = io.WriteString(w, `{"model":"claude-hostile","usage":{"input_tokens":1,"output_tokens":1}}`)
				}, RetrySettings{MaxAttempts: 2})
				start := time.Now()
				resp, err := g.post(context.Background(), false)
				hostileStatus(t, "throttled call", resp, err, http.StatusTooManyRequests)
				d := time.Since(start)
				if tc.backoff && (d < 500*time.Microsecond || d > time.Millisecond) {
					t.Errorf("throttled call took %v, want one backoff step, 0.5ms to 1ms", d)
				} else if !tc.backoff && d != 0 {
					t.Errorf("throttled call took %v, want it given up at once", d)
				}
				mu.Lock()
				throttled = false
				mu.Unlock()
				start = time.Now()
				resp, err = g.post(context.Background(), false)
				hostileStatus(t, "call after the server recovered", resp, err, http.StatusOK)
				if d := time.Since(start); d != 0 {
					t.Errorf("call after the server recovered took %v, want no wait at all", d)
				}
			})
		})
	}
}

// hostileStatus fails unless the call got a response of status want.
func hostileStatus(t *testing.T, what string, resp *http.Response, err error, want int) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v, want status %d", what, err, want)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Errorf("%s: status %d, want %d", what, resp.StatusCode, want)
	}
}

// A flood of response headers: thousands of rate-limit headers with junk
// values and one huge value pass through without panic, and a header block
// past the client's limit fails with a clear error, not a hang.
func TestHostileHeaderFlood(t *testing.T) {
	t.Run("thousands of junk rate-limit headers", func(t *testing.T) {
		g := newHostileRig(t, func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			for i := range 5000 {
				h.Add("anthropic-ratelimit-requests-remaining", fmt.Sprint(-i))
				h.Add(fmt.Sprintf("x-junk-%d", i), strings.Repeat("j", 64))
			}
			h.Set("anthropic-ratelimit-requests-limit", strings.Repeat("9", 100<<10))
			h.Set("anthropic-ratelimit-requests-reset", strings.Repeat("Z", 100<<10))
			h.Set("retry-after-ms", strings.Repeat("1", 100<<10))
			h.Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"model":"claude-hostile","usage":{"input_tokens":3,"output_tokens":4}}`)
		}, RetrySettings{})
		for range 3 { // the limiter learns from every response
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			resp, err := g.post(ctx, false)
			hostileStatus(t, "flooded response", resp, err, http.StatusOK)
			cancel()
		}
	})
	t.Run("header block past the client limit", func(t *testing.T) {
		g := newHostileRig(t, func(w http.ResponseWriter, r *http.Request) {
			for i := range 20 {
				w.Header().Set(fmt.Sprintf("x-huge-%d", i), strings.Repeat("h", 1<<20))
			}
			w.WriteHeader(http.StatusOK)
		}, RetrySettings{MaxAttempts: 2})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		resp, err := g.post(ctx, false)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("a 20 MB header block was accepted (status %d)", resp.StatusCode)
		}
		if !strings.Contains(err.Error(), "header") {
			t.Errorf("error %q does not say the headers were too large", err)
		}
	})
}

// errHalfway is the error a body returns after half its bytes.
var errHalfway = errors.New("hostile: body failed half-way")

// halfwayBase wraps a real loopback transport so that every 200 body fails
// with errHalfway after half of its bytes.
type halfwayBase struct{ next http.RoundTripper }

func (h halfwayBase) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := h.next.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	all, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(all[:len(all)/2]), hostileErrReader{}))
	resp.ContentLength = -1
	return resp, nil
}

type hostileErrReader struct{}

func (hostileErrReader) Read([]byte) (int, error) { return 0, errHalfway }

// A body that fails half-way, as the network's unexpected EOF or as an
// error of the base transport's own: the caller gets that error as it is
// (errors.Is), the usage callback reports the failure once, and the
// limiter's slot is given back.
func TestHostileBodyFailsHalfway(t *testing.T) {
	const sse = "event: message_start\ndata: {\"message\":{\"model\":\"claude-hostile\",\"usage\":{\"input_tokens\":7,\"output_tokens\":1}}}\n\n" +
		"event: content_block_delta\ndata: {\"delta\":{\"text\":\"hello\"}}\n\n" +
		"event: message_delta\ndata: {\"usage\":{\"output_tokens\":9}}\n\nevent: message_stop\ndata: {}\n\n"
	serve := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, sse)
	}
	cut := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Content-Length", fmt.Sprint(len(sse)))
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, sse[:len(sse)/2])
		w.(http.Flusher).Flush()
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = buf.Flush()
			conn.Close()
		}
	}
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		base    func(http.RoundTripper) http.RoundTripper
		want    error
	}{
		{"connection cut", cut, nil, io.ErrUnexpectedEOF},
		{"base body error", serve, func(rt http.RoundTripper) http.RoundTripper { return halfwayBase{rt} }, errHalfway},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newHostileRig(t, tc.handler, RetrySettings{})
			if tc.base != nil {
				base := http.DefaultTransport.(*http.Transport).Clone()
				t.Cleanup(base.CloseIdleConnections)
				g.tr.Close()
				g.tr = New(tc.base(base), WithMeter(MeterSettings{OnUsage: func(_ context.Context, r UsageReport) {
					g.mu.Lock()
					g.usage = append(g.usage, r)
					g.mu.Unlock()
				}}))
				g.client = &http.Client{Transport: g.tr}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			resp, err := g.post(ctx, true)
			if err != nil {
				t.Fatal(err)
			}
			_, err = io.ReadAll(bufio.NewReader(resp.Body))
			resp.Body.Close()
			if !errors.Is(err, tc.want) {
				t.Errorf("reading the body: %v, want %v", err, tc.want)
			}
			rs := g.reports()
			if len(rs) != 1 || rs[0].Err == nil || !errors.Is(rs[0].Err, tc.want) {
				t.Errorf("usage reports %+v, want one carrying %v", rs, tc.want)
			}
			for _, ks := range g.tr.Limiter().Stats() {
				if ks.InFlight != 0 {
					t.Errorf("limiter key %s still holds %d slots after the body failed", ks.Key, ks.InFlight)
				}
			}
		})
	}
}

// FuzzIsHardLimit feeds hostile 429 bodies to the hard-limit check: it must
// not panic, and it may only say "hard limit" for a body that names one of
// the codes or says "Request too large".
func FuzzIsHardLimit(f *testing.F) {
	for _, s := range []string{
		`{"type":"error","error":{"type":"rate_limit_error","message":"slow down","details":{"error_code":"enforced_spend_limit_reached"}}}`,
		`{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`,
		`{"error":{"message":"Request too large for gpt-4o on tokens per min (TPM)","type":"tokens","code":"rate_limit_exceeded"}}`,
		`{"error":{"code":42,"details":null}}`, `{"error":null}`, `[1,2]`, `not json insufficient_quota`, "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if !isHardLimit(body) {
			return
		}
		for _, c := range append(hardLimitCodes, "Request too large") {
			if bytes.Contains(body, []byte(c)) {
				return
			}
		}
		if json.Valid(body) && bytes.Contains(body, []byte(`\u`)) {
			return // an escaped code decodes to one of them
		}
		t.Fatalf("hard limit found in a body naming none: %q", body)
	})
}
