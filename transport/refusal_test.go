package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluicehq/sluice/limiter"
)

// stubRT answers every request with status (or err), counting arrivals.
type stubRT struct {
	status   int
	err      error
	arrivals atomic.Int64
}

func (s *stubRT) RoundTrip(req *http.Request) (*http.Response, error) {
	s.arrivals.Add(1)
	if req.Body != nil {
		req.Body.Close()
	}
	if s.err != nil {
		return nil, s.err
	}
	return &http.Response{StatusCode: s.status, Header: http.Header{"Content-Type": {"application/json"}},
		Body:    io.NopCloser(strings.NewReader(`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)),
		Request: req}, nil
}

// Every local refusal is final for the retry layer: one attempt, no wait.
func TestRetryDoesNotRetryLocalRefusals(t *testing.T) {
	refusals := []error{
		&BreakerOpenError{Key: "k", RetryAt: time.Now().Add(time.Second), Reason: "fail_fast"},
		fmt.Errorf("wrapped: %w", &BreakerOpenError{Key: "k", Reason: "deadline"}),
		limiter.ErrQueueFull,
		&limiter.WaitError{Wait: time.Second, Left: time.Millisecond},
		&limiter.CapacityError{Need: 10, Limit: 1},
		limiter.ErrClosed,
	}
	for _, refusal := range refusals {
		t.Run(fmt.Sprintf("%T", refusal), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				if !localRefusal(refusal) {
					t.Fatalf("localRefusal(%v) = false", refusal)
				}
				stub := &stubRT{err: refusal}
				rt := Retry(stub, RetrySettings{})
				start := time.Now()
				_, err := breakerCall(context.Background(), rt, "http://api.test", "m")
				if !errors.Is(err, refusal) && !errors.As(err, new(*BreakerOpenError)) {
					t.Fatalf("err = %v, want the refusal itself", err)
				}
				if n := stub.arrivals.Load(); n != 1 {
					t.Fatalf("%d attempts, want 1", n)
				}
				if d := time.Since(start); d != 0 {
					t.Fatalf("the refusal took %v of (fake) time, want none", d)
				}
			})
		})
	}
	for _, other := range []error{errors.New("connection reset"), io.ErrUnexpectedEOF} {
		if localRefusal(other) {
			t.Errorf("localRefusal(%v) = true", other)
		}
	}
}

// The breaker does not count a refusal from below as a failure.
func TestBreakerDoesNotCountLocalRefusals(t *testing.T) {
	stub := &stubRT{err: limiter.ErrQueueFull}
	rt := Breaker(stub, BreakerSettings{FailureRatio: 0.5, MinRequests: 2, FailFast: true})
	for range 20 {
		if _, err := breakerCall(context.Background(), rt, "http://api.test", "m"); !errors.Is(err, limiter.ErrQueueFull) {
			t.Fatalf("err = %v, want ErrQueueFull from below", err)
		}
	}
	if n := stub.arrivals.Load(); n != 20 {
		t.Fatalf("%d calls reached the layer below, want 20: the breaker opened on refusals", n)
	}
}

// transport.New with BreakerSettings.FailFast and the API down: once the breaker is
// open, a call returns a *BreakerOpenError at once, without a retry, a
// backoff or a request sent (in-process, fake time).
func TestFailFastStackReturnsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stub := &stubRT{status: 529}
		tr := New(stub, WithBreaker(BreakerSettings{FailFast: true}), WithoutAttemptSpans(), WithLogger(slog.New(slog.DiscardHandler)))
		defer tr.Close()
		var boe *BreakerOpenError
		for i := 0; ; i++ {
			if i == 3 { // the default trips on 10 failed attempts in a row: 2 calls of 8
				t.Fatalf("the breaker did not open in %d calls against a down API", i)
			}
			_, err := breakerCall(context.Background(), tr, "http://api.test", "m")
			if errors.As(err, &boe) {
				break
			}
		}
		for range 5 {
			before := stub.arrivals.Load()
			start := time.Now()
			_, err := breakerCall(context.Background(), tr, "http://api.test", "m")
			if !errors.As(err, &boe) || boe.Reason != "fail_fast" {
				t.Fatalf("err = %v, want a fail_fast *BreakerOpenError", err)
			}
			if d := time.Since(start); d != 0 {
				t.Fatalf("the refused call took %v of (fake) time, want none", d)
			}
			if n := stub.arrivals.Load() - before; n != 0 {
				t.Fatalf("%d requests sent through an open breaker", n)
			}
		}
	})
}
