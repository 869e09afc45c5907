package limiter_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/synctest"

	"github.com/sluicehq/sluice/limiter"
)

// TestQueueMatchesModel drives one key's queue with random acquires of
// both priorities, cancellations and releases, and checks after every step
// that the limiter granted, refused and queued exactly what a reference
// model does: a FIFO per priority, every Interactive waiter served before
// any Batch one, a slot handed to the next waiter when one frees, a
// cancelled waiter gone without a trace. Virtual time (testing/synctest)
// makes every step settle before it is checked.
func TestQueueMatchesModel(t *testing.T) {
	for seed := range 64 {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { runQueueModel(t, uint64(seed)) })
		})
	}
}

// queueModel is the reference: who waits, in order, and who holds a slot.
type queueModel struct {
	slots   int
	waiting [2][]int // ids by priority, in arrival order
	holding []int
}

// next is the waiter the model serves when a slot frees.
func (m *queueModel) next() (int, bool) {
	for p := range m.waiting {
		if len(m.waiting[p]) > 0 {
			id := m.waiting[p][0]
			m.waiting[p] = m.waiting[p][1:]
			return id, true
		}
	}
	return 0, false
}

func (m *queueModel) queued() int { return len(m.waiting[0]) + len(m.waiting[1]) }

// queueEvent is what an acquire returned.
type queueEvent struct {
	id      int
	granted bool   // else cancelled
	err     string // any other error
}

func runQueueModel(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 17))
	m := &queueModel{slots: 1 + rng.IntN(3)}
	// Limits far above the load: only the concurrency cap makes waiters.
	l := limiter.New(limiter.WithConcurrency(m.slots), limiter.WithLimits(limiter.Limits{Requests: 1 << 40}))
	defer l.Close()
	type acq struct {
		r      *limiter.Reservation
		cancel context.CancelFunc
	}
	acqs := map[int]*acq{}
	events := make(chan queueEvent, 1024) // no acquire ever blocks on it
	var want []queueEvent
	// settle returns what the acquires returned once every goroutine is
	// blocked again, in id order.
	settle := func() []queueEvent {
		var got []queueEvent
		for {
			synctest.Wait()
			select {
			case e := <-events:
				got = append(got, e)
				continue
			default:
			}
			slices.SortFunc(got, func(a, b queueEvent) int { return a.id - b.id })
			return got
		}
	}
	check := func(step int, did string, got []queueEvent) {
		t.Helper()
		slices.SortFunc(want, func(a, b queueEvent) int { return a.id - b.id })
		if !slices.Equal(got, want) {
			t.Fatalf("seed %d, step %d (%s, %d slots): acquires returned %v, the model says %v", seed, step, did, m.slots, got, want)
		}
		want = want[:0]
		if st := l.StatsFor("k"); st.Queued != m.queued() || st.InFlight != len(m.holding) {
			t.Fatalf("seed %d, step %d (%s): %d queued, %d in flight; the model has %d and %d", seed, step, did, st.Queued, st.InFlight, m.queued(), len(m.holding))
		}
	}
	ids := 0
	for step := range 200 {
		var did string
		switch op := rng.IntN(10); {
		case op < 5: // a new acquire
			id, p := ids, limiter.Priority(rng.IntN(2))
			ids++
			ctx, cancel := context.WithCancel(context.Background())
			a := &acq{cancel: cancel}
			acqs[id] = a
			go func() {
				r, err := l.Acquire(ctx, "k", limiter.Request{Priority: p})
				switch {
				case err == nil:
					a.r = r
					events <- queueEvent{id: id, granted: true}
				case errors.Is(err, context.Canceled):
					events <- queueEvent{id: id}
				default: // shows as a mismatch
					events <- queueEvent{id: id, err: err.Error()}
				}
			}()
			did = fmt.Sprintf("acquire %d at priority %d", id, p)
			if len(m.holding) < m.slots && m.queued() == 0 {
				m.holding = append(m.holding, id)
				want = append(want, queueEvent{id: id, granted: true})
			} else {
				m.waiting[p] = append(m.waiting[p], id)
			}
		case op < 7 && m.queued() > 0: // a waiter gives up
			i := rng.IntN(m.queued())
			p := 0
			if i >= len(m.waiting[0]) {
				p, i = 1, i-len(m.waiting[0])
			}
			id := m.waiting[p][i]
			m.waiting[p] = slices.Delete(m.waiting[p], i, i+1)
			acqs[id].cancel()
			did = fmt.Sprintf("cancel %d", id)
			want = append(want, queueEvent{id: id})
		case op == 7 && len(m.holding) > 0 && m.queued() > 1:
			// A request ends as the waiter second in line gives up: the
			// head takes the slot and hands the head on to that waiter,
			// which is leaving, and must pass it on in turn.
			i := rng.IntN(len(m.holding))
			id := m.holding[i]
			m.holding = slices.Delete(m.holding, i, i+1)
			next, _ := m.next()
			second, _ := m.next()
			acqs[id].r.Release()
			acqs[second].cancel()
			did = fmt.Sprintf("end %d and cancel %d", id, second)
			m.holding = append(m.holding, next)
			want = append(want, queueEvent{id: next, granted: true}, queueEvent{id: second})
		case len(m.holding) > 0: // a request ends
			i := rng.IntN(len(m.holding))
			id := m.holding[i]
			m.holding = slices.Delete(m.holding, i, i+1)
			if rng.IntN(2) == 0 {
				acqs[id].r.Release()
			} else {
				_ = acqs[id].r.Cancel()
			}
			acqs[id].cancel()
			did = fmt.Sprintf("end %d", id)
			if next, ok := m.next(); ok {
				m.holding = append(m.holding, next)
				want = append(want, queueEvent{id: next, granted: true})
			}
		default:
			continue
		}
		check(step, did, settle())
	}
	// Let every waiter go and end every request: nothing may be left.
	for _, a := range acqs {
		a.cancel()
	}
	for range m.queued() {
		synctest.Wait()
		<-events
	}
	for _, id := range m.holding {
		acqs[id].r.Release()
	}
	synctest.Wait()
	if st := l.StatsFor("k"); st.Queued != 0 || st.InFlight != 0 {
		t.Fatalf("after the end: %d queued, %d in flight", st.Queued, st.InFlight)
	}
}
