// Package readmostly is a bounded map for the hot path's caches: read on
// every request, written once per new entry.
//
// Reads are one atomic load and a map lookup, with no lock and no shared
// write, so they do not contend however many goroutines read (a
// sync.RWMutex's read lock writes a shared counter; a sync.Map boxes its
// keys, and a struct or string key converted to an interface allocates).
// A write copies the map, so writes cost O(n): fine for caches that fill
// once and then only serve.
package readmostly

import (
	"maps"
	"sync"
	"sync/atomic"
)

// Map is a bounded, copy-on-write map. Make one with New.
type Map[K comparable, V any] struct {
	max  int
	m    atomic.Pointer[map[K]V] // never modified once published
	mu   sync.Mutex              // serialises writers
	full atomic.Bool             // max reached: no more copies
}

// New returns an empty Map that holds at most max entries.
func New[K comparable, V any](max int) *Map[K, V] {
	m := &Map[K, V]{max: max}
	empty := map[K]V{}
	m.m.Store(&empty)
	return m
}

// Load returns the value of k, if present.
func (m *Map[K, V]) Load(k K) (V, bool) {
	v, ok := (*m.m.Load())[k]
	return v, ok
}

// Get returns the value of k, calling build for it the first time. Once
// the map holds max entries, build's result is returned without being
// stored, so a caller past the bound pays for build on every call. build
// runs without a lock held; two callers may both run it for one new key,
// and the first value stored is the one both get.
func (m *Map[K, V]) Get(k K, build func() V) V {
	if v, ok := m.Load(k); ok {
		return v
	}
	v := build()
	if m.full.Load() {
		return v
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.m.Load()
	if prev, ok := old[k]; ok {
		return prev
	}
	if len(old) >= m.max {
		m.full.Store(true)
		return v
	}
	next := maps.Clone(old)
	next[k] = v
	m.m.Store(&next)
	return v
}

// Len returns the number of entries.
func (m *Map[K, V]) Len() int { return len(*m.m.Load()) }
