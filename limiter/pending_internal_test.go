package limiter

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// An observed response's remaining has not counted the requests granted
// after it (pending), and may not have counted those granted less than
// reorderWindow before it (reorder); requests granted earlier it has.
// Those granted less than reorderWindow after it may have been counted
// before it (reorderAfter); those granted later have not.
func TestPendingAfterCountsTheReorderWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(WithLimits(Limits{Requests: 1000}))
		defer l.Close()
		acq := func(in int64) *Reservation {
			t.Helper()
			r, err := l.Acquire(context.Background(), "k", Request{InputTokens: in})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		acq(1)
		time.Sleep(reorderWindow)
		edge := acq(10) // exactly reorderWindow before r: counted by the provider
		time.Sleep(time.Nanosecond)
		near := acq(100) // just within it
		time.Sleep(reorderWindow - time.Nanosecond)
		r := acq(1000)
		after := acq(10000)
		time.Sleep(reorderWindow)
		late := acq(100000) // reorderWindow after r: not counted before it
		ks := l.state("k")
		ks.mu.Lock()
		sum, reorder, reorderAfter := ks.pendingAfter(r)
		ks.mu.Unlock()
		var both Cost
		addCost(&both, &after.cost, 1)
		addCost(&both, &late.cost, 1)
		if sum != both || reorder != near.Cost() || reorderAfter != after.Cost() {
			t.Fatalf("pending %v, reorder %v, reorderAfter %v; want %v (granted after), %v (granted within the window before; not %v, at its edge) and %v (within the window after; not %v)",
				sum, reorder, reorderAfter, both, near.Cost(), edge.Cost(), after.Cost(), late.Cost())
		}
	})
}
