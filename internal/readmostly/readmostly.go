// Package readmostly is a bounded cache for the hot path: read on every
// request, written once per new entry. It is a sync.Map, whose read path
// takes no lock and, for the string and struct keys sluice uses, allocates
// nothing, with a bound: the keys come from requests (model names, API
// keys), so their number is the application's to choose.
//
// The caches it holds (model names, limit keys, the meter's attribute
// sets, the breaker index) are what keeps the full stack within its
// allocation budget: bench BenchmarkOverheadStub, sluice-noop.
package readmostly

import (
	"sync"
	"sync/atomic"
)

// Map is a bounded map. Make one with New.
type Map[K comparable, V any] struct {
	max int
	m   sync.Map
	n   atomic.Int64 // entries stored
}

// New returns an empty Map that holds at most about max entries (writers
// racing for the last places may each store one).
func New[K comparable, V any](max int) *Map[K, V] {
	return &Map[K, V]{max: max}
}

// Load returns the value of k, if present.
func (m *Map[K, V]) Load(k K) (V, bool) {
	v, ok := m.m.Load(k)
	if !ok {
		var zero V
		return zero, false
	}
	return v.(V), true
}

// Get returns the value of k, calling build for it the first time. Once
// the map is full, build's result is returned without being stored, so a
// caller past the bound pays for build on every call. build runs without a
// lock held; two callers may both run it for one new key, and the first
// value stored is the one both get.
func (m *Map[K, V]) Get(k K, build func() V) V {
	if v, ok := m.Load(k); ok {
		return v
	}
	v := build()
	if m.n.Load() >= int64(m.max) {
		return v
	}
	got, loaded := m.m.LoadOrStore(k, v)
	if !loaded {
		m.n.Add(1)
	}
	return got.(V)
}

// Len returns the number of entries.
func (m *Map[K, V]) Len() int { return int(m.n.Load()) }
