package limiter

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func (l *Limiter) numKeys() int {
	n := 0
	l.keys.Range(func(_, _ any) bool { n++; return true })
	return n
}

func (s *MemoryStore) numKeys() int {
	n := 0
	s.keys.Range(func(_, _ any) bool { n++; return true })
	return n
}

// Keys nobody uses any more are retired, state and buckets, two windows
// after their last use, while a key with a request in flight is kept
// however long the request takes.
func TestIdleKeysArePruned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms := NewMemoryStore()
		l := New(WithStore(ms), WithWindow(pruneWindow), WithLimits(Limits{Requests: 1000}))
		defer l.Close()
		useKeys(t, l, 1000)
		busy, err := l.Acquire(context.Background(), "busy", Request{})
		if err != nil {
			t.Fatal(err)
		}
		tick(t, l, 2*pruneWindow-time.Nanosecond)
		if n, m := l.numKeys(), ms.numKeys(); n != 1002 || m != 1002 {
			t.Fatalf("%d keys in the limiter, %d in the store just before two windows; want 1002 (all, with busy and tick)", n, m)
		}
		tick(t, l, time.Nanosecond)
		if n, m := l.numKeys(), ms.numKeys(); n != 2 || m != 2 {
			t.Fatalf("%d keys in the limiter, %d in the store after two windows; want 2 (busy and tick)", n, m)
		}
		tick(t, l, 10*pruneWindow)
		if st := l.StatsFor("busy"); st.InFlight != 1 {
			t.Fatalf("busy key: %d in flight, want 1", st.InFlight)
		}
		busy.Release()
		if st := l.StatsFor("busy"); st.InFlight != 0 {
			t.Fatalf("busy key after release: %d in flight, want 0", st.InFlight)
		}
	})
}

// Sweeping while keys are acquired must never split a key in two: with a
// concurrency cap of one, no two requests of a key are ever in flight.
func TestPruneKeepsOneStatePerKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(WithWindow(2*time.Millisecond), WithConcurrency(1))
		defer l.Close()
		var inflight [8]atomic.Int32
		var wg sync.WaitGroup
		var violations atomic.Int32
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx := context.Background()
				for range 400 {
					k := rand.IntN(len(inflight))
					r, err := l.Acquire(ctx, fmt.Sprint(k), Request{})
					if err != nil {
						t.Error(err)
						return
					}
					if inflight[k].Add(1) > 1 {
						violations.Add(1)
					}
					if rand.IntN(4) == 0 {
						time.Sleep(3 * time.Millisecond) // idle long enough for sweeps
					}
					inflight[k].Add(-1)
					r.Release()
				}
			}()
		}
		wg.Wait()
		if l.retired.Load() == 0 {
			t.Fatal("no key was retired: the test did not race sweeps against acquires")
		}
		t.Logf("%d keys retired", l.retired.Load())
		if v := violations.Load(); v > 0 {
			t.Fatalf("%d times two requests of one key were in flight under a cap of 1", v)
		}
	})
}

// forgettingStore is a MemoryStore that records what it is told to forget.
type forgettingStore struct {
	*MemoryStore
	mu        sync.Mutex
	forgotten map[string]bool
}

func (f *forgettingStore) Forget(key string) {
	f.mu.Lock()
	f.forgotten[key] = true
	f.mu.Unlock()
	f.MemoryStore.Forget(key)
}

// A store that keeps per-key state is told when the Limiter retires a key,
// and MemoryStore.Forget drops the idle buckets.
func TestRetiredKeysAreForgottenByTheStore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &forgettingStore{MemoryStore: NewMemoryStore(), forgotten: map[string]bool{}}
		l := New(WithStore(st), WithWindow(pruneWindow), WithLimits(Limits{Requests: 1000}))
		defer l.Close()
		useKeys(t, l, 100)
		tick(t, l, 2*pruneWindow)
		st.mu.Lock()
		n := len(st.forgotten)
		st.mu.Unlock()
		if n != 100 || st.numKeys() != 1 { // "tick" remains
			t.Fatalf("%d keys forgotten, %d left in the store; want 100 and 1 (tick)", n, st.numKeys())
		}
	})
}

// pruneWindow is the window of the pruning tests; in virtual time its
// value does not matter.
const pruneWindow = 200 * time.Millisecond

// useKeys acquires and releases keys tenant-0 … tenant-(n-1) once each.
func useKeys(t *testing.T, l *Limiter, n int) {
	t.Helper()
	for i := range n {
		r, err := l.Acquire(context.Background(), fmt.Sprintf("tenant-%d", i), Request{})
		if err != nil {
			t.Fatal(err)
		}
		r.Release()
	}
}

// tick lets d pass, using the key "tick" — which drives the sweeps — every
// quarter window and at the end.
func tick(t *testing.T, l *Limiter, d time.Duration) {
	t.Helper()
	for end := time.Now().Add(d); ; {
		r, err := l.Acquire(context.Background(), "tick", Request{})
		if err != nil {
			t.Fatal(err)
		}
		r.Release()
		left := time.Until(end)
		if left <= 0 {
			return
		}
		time.Sleep(min(left, pruneWindow/4))
	}
}
