package limiter

import (
	"context"
	"testing"
	"unsafe"
)

// TestReservationSize keeps a Reservation in the 128-byte size class: its
// allocation is the largest single cost of an uncontended acquire.
func TestReservationSize(t *testing.T) {
	if n := unsafe.Sizeof(Reservation{}); n > 128 {
		t.Fatalf("Reservation is %d bytes, want at most 128", n)
	}
}

// TestHotPathAllocations: an acquire, its response's observation and its
// settlement allocate the Reservation and nothing else with the default
// store.
func TestHotPathAllocations(t *testing.T) {
	l := New()
	defer l.Close()
	ctx := context.Background()
	o := Observation{Requests: {Limit: 1 << 40, Remaining: 1 << 39, HasRemaining: true},
		Tokens: {Limit: 1 << 50, Remaining: 1 << 49, HasRemaining: true}}
	req := Request{Model: "m", InputBytes: 4000, MaxOutputTokens: 1024}
	n := testing.AllocsPerRun(1000, func() {
		r, err := l.Acquire(ctx, "k", req)
		if err != nil {
			t.Fatal(err)
		}
		_ = r.Observe(ctx, o)
		_ = r.Settle(Spent{InputTokens: 900, OutputTokens: 200})
	})
	if n > 1 {
		t.Fatalf("%.1f allocations per acquire, observe and settle; want 1 (the Reservation)", n)
	}
}
