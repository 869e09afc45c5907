package transport

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The default trip rule opens on 6 consecutive failed attempts; Polly's
// settings do not (they need 100 calls).
func TestBreakerTripsOnConsecutiveFailures(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     []Option
		openedAt int // the call that is refused first, 0: none of 20
	}{
		{"default", nil, DefaultBreakerConsecutiveFailures + 1},
		{"polly", []Option{WithBreakerSettings(PollyBreakerSettings())}, 0},
		{"ratio only", []Option{WithBreakerSettings(BreakerSettings{ConsecutiveFailures: -1, MinRequests: 10})}, 11},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stub := &stubRT{status: 529}
			rt := Breaker(stub, append([]Option{WithFailFast()}, tc.opts...)...)
			got := 0
			for i := 1; i <= 20 && got == 0; i++ {
				if _, err := breakerCall(context.Background(), rt, "http://api.test", "m"); errors.Is(err, ErrBreakerOpen) {
					got = i
				}
			}
			if got != tc.openedAt {
				t.Fatalf("first refused call %d, want %d", got, tc.openedAt)
			}
		})
	}
}

// A success from an attempt sent before the latest failed attempt is not
// counted, so it does not end a run of failures; a later one is.
func TestBreakerStaleSuccessNotCounted(t *testing.T) {
	e := &breakerEntry{}
	t0 := time.Now()
	if e.fresh(t0, errBreakerFailure) != errBreakerFailure {
		t.Fatal("a failure is a failure")
	}
	if got := e.fresh(t0.Add(-time.Millisecond), nil); got != errBreakerExcluded {
		t.Fatalf("a success sent before the failure: %v, want not counted", got)
	}
	if got := e.fresh(t0.Add(time.Millisecond), nil); got != nil {
		t.Fatalf("a success sent after the failure: %v, want counted", got)
	}
	if e.fresh(t0.Add(-time.Second), errBreakerFailure); !e.failAt.Equal(t0) {
		t.Fatal("an older failure moved failAt back")
	}
}
