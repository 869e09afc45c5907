package readmostly

import (
	"strconv"
	"sync"
	"testing"
)

func TestGetBuildsOnce(t *testing.T) {
	m := New[string, int](4)
	builds := 0
	build := func(v int) func() int { return func() int { builds++; return v } }
	if got := m.Get("a", build(1)); got != 1 {
		t.Fatalf("Get = %d, want 1", got)
	}
	if got := m.Get("a", build(2)); got != 1 {
		t.Fatalf("second Get = %d, want the stored 1", got)
	}
	if builds != 1 {
		t.Fatalf("%d builds, want 1", builds)
	}
	if v, ok := m.Load("a"); !ok || v != 1 {
		t.Fatalf("Load = %d, %v", v, ok)
	}
	if _, ok := m.Load("b"); ok {
		t.Fatal("Load of a missing key succeeded")
	}
}

func TestBounded(t *testing.T) {
	m := New[int, string](3)
	for i := range 10 {
		if got, want := m.Get(i, func() string { return strconv.Itoa(i) }), strconv.Itoa(i); got != want {
			t.Fatalf("Get(%d) = %q, want %q", i, got, want)
		}
	}
	if m.Len() != 3 {
		t.Fatalf("Len = %d, want the bound 3", m.Len())
	}
	for i := range 3 {
		if _, ok := m.Load(i); !ok {
			t.Fatalf("entry %d, stored before the bound, is gone", i)
		}
	}
}

// Concurrent Gets of one key all see the value stored first (run with
// -race: readers never see a map being written).
func TestConcurrent(t *testing.T) {
	m := New[int, *int](64)
	var wg sync.WaitGroup
	got := make([]*int, 32)
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range 64 {
				v := m.Get(k, func() *int { n := k; return &n })
				if k == 7 {
					got[g] = v
				}
			}
		}()
	}
	wg.Wait()
	for _, v := range got {
		if v != got[0] {
			t.Fatal("goroutines got different values for one key")
		}
	}
}

// A hit allocates nothing, for the string and struct keys the caches use:
// a string key converted from bytes (Load; Get keeps its key, so the
// conversion allocates there), and a struct key holding a string.
func TestHitsAllocateNothing(t *testing.T) {
	type key struct {
		n     uint64
		set   bool
		model string
	}
	ms := New[string, string](4)
	mk := New[key, string](4)
	b := []byte("claude-sonnet-4-5")
	model := string(b)
	ms.Get(model, func() string { return "s" })
	mk.Get(key{1, true, model}, func() string { return "k" })
	if n := testing.AllocsPerRun(100, func() {
		if v, _ := ms.Load(string(b)); v != "s" {
			t.Fatal("miss")
		}
		if v := mk.Get(key{1, true, model}, nil); v != "k" {
			t.Fatal("miss")
		}
	}); n != 0 {
		t.Fatalf("%v allocations per pair of hits, want 0", n)
	}
}
