package limiter

import (
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
