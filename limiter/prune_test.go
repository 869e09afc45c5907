package limiter

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
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

// Keys nobody uses any more are retired, state and buckets, while a key
// with a request in flight is kept however long the request takes.
func TestIdleKeysArePruned(t *testing.T) {
	ms := NewMemoryStore()
	l := New(WithStore(ms), WithWindow(pruneWindow), WithLimits(Limits{Requests: 1000}))
	defer l.Close()
	useKeys(t, l, 1000)
	busy, err := l.Acquire(context.Background(), "busy", Request{})
	if err != nil {
		t.Fatal(err)
	}
	if n := l.numKeys(); n != 1001 {
		t.Fatalf("%d keys, want 1001", n)
	}
	tickUntil(t, l, func() string { // "busy" and "tick" stay
		if l.numKeys() > 2 || ms.numKeys() > 2 {
			return fmt.Sprintf("still %d keys in the limiter, %d in the store", l.numKeys(), ms.numKeys())
		}
		return ""
	})
	if st := l.StatsFor("busy"); st.InFlight != 1 {
		t.Fatalf("busy key: %d in flight, want 1", st.InFlight)
	}
	busy.Release()
	if st := l.StatsFor("busy"); st.InFlight != 0 {
		t.Fatalf("busy key after release: %d in flight, want 0", st.InFlight)
	}
}

// Sweeping while keys are acquired must never split a key in two: with a
// concurrency cap of one, no two requests of a key are ever in flight.
func TestPruneKeepsOneStatePerKey(t *testing.T) {
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
	st := &forgettingStore{MemoryStore: NewMemoryStore(), forgotten: map[string]bool{}}
	l := New(WithStore(st), WithWindow(pruneWindow), WithLimits(Limits{Requests: 1000}))
	defer l.Close()
	useKeys(t, l, 100)
	tickUntil(t, l, func() string {
		st.mu.Lock()
		n := len(st.forgotten)
		st.mu.Unlock()
		if n == 100 && st.numKeys() <= 1 { // "tick" may remain
			return ""
		}
		return fmt.Sprintf("%d keys forgotten, %d left in the store", n, st.numKeys())
	})
}

// pruneWindow is the window of the pruning tests: a key retires after two
// windows unused, and 200 ms keeps the keys a test makes alive while it
// makes them, however loaded the machine (20 ms did not always).
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

// tickUntil uses the key "tick" every quarter window, which drives the
// sweeps, until pending returns "" or 15 s have passed, when the test
// fails with what pending last said.
func tickUntil(t *testing.T, l *Limiter, pending func() string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		msg := pending()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		r, err := l.Acquire(context.Background(), "tick", Request{})
		if err != nil {
			t.Fatal(err)
		}
		r.Release()
		time.Sleep(pruneWindow / 4)
	}
}
