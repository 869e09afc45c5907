package transport

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// The default trip rule opens on 6 consecutive failed attempts; Polly's
// settings do not (they need 100 calls).
func TestBreakerTripsOnConsecutiveFailures(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings BreakerSettings
		openedAt int // the call that is refused first, 0: none of 20
	}{
		{"default", BreakerSettings{}, defaultBreakerConsecutiveFailures + 1},
		{"polly", PollyBreakerSettings(), 0},
		{"ratio only", BreakerSettings{ConsecutiveFailures: -1, MinRequests: 10}, 11},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stub := &stubRT{status: 529}
			s := tc.settings
			s.FailFast = true
			rt := Breaker(stub, s)
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

// A success from an attempt sent before the current run of failures began
// is not counted, so it does not end the run; one sent after the run began
// is counted and ends it, even if later attempts failed (degradation, not
// an outage).
func TestBreakerStaleSuccessNotCounted(t *testing.T) {
	e := &breakerEntry{}
	t0 := time.Now()
	if e.fresh(t0, errBreakerFailure) != errBreakerFailure {
		t.Fatal("a failure is a failure")
	}
	e.fresh(t0.Add(5*time.Millisecond), errBreakerFailure)
	if !e.runAt.Equal(t0) {
		t.Fatalf("runAt %v, want the run's first failure %v", e.runAt, t0)
	}
	if got := e.fresh(t0.Add(-time.Millisecond), nil); got != errBreakerExcluded {
		t.Fatalf("a success sent before the run began: %v, want not counted", got)
	}
	if e.fresh(t0.Add(-time.Second), errBreakerFailure); !e.runAt.Equal(t0.Add(-time.Second)) {
		t.Fatal("an older failure did not move the run's start back")
	}
	if got := e.fresh(t0.Add(time.Millisecond), nil); got != nil {
		t.Fatalf("a success sent after the run began (before its latest failure): %v, want counted", got)
	}
	if !e.runAt.IsZero() {
		t.Fatal("a counted success did not end the run")
	}
}

// Each failed probe doubles the next break, up to MaxBreak; closing starts
// again from Break.
func TestBreakerBreakGrows(t *testing.T) {
	s := BreakerSettings{Break: time.Second, MaxBreak: 10 * time.Second}.withDefaults()
	var got []time.Duration
	for n := range 6 {
		got = append(got, s.breakFor(n))
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("breaks %v, want %v", got, want)
	}
	if p := PollyBreakerSettings().withDefaults(); p.breakFor(3) != 5*time.Second {
		t.Fatalf("Polly's break after failed probes %v, want a constant 5s", p.breakFor(3))
	}
}
