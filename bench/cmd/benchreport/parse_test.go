package main

import (
	"strings"
	"testing"
)

func TestParseMediansAcrossRounds(t *testing.T) {
	raw := `goos: linux
pkg: github.com/sluicehq/sluice/bench
BenchmarkOverhead/bare-2     1000   300 ns/op   10 B/op   2 allocs/op
BenchmarkOverhead/bare-2     1000   100 ns/op   10 B/op   2 allocs/op
some log line that is not a benchmark
BenchmarkOverhead/bare-2     1000   200 ns/op   12 B/op   2 allocs/op
BenchmarkGoodput/sluice-2    1   6e+09 ns/op   0 failed   1.013 wall/min
PASS
`
	rs := parse(strings.NewReader(raw))
	bare := rs.get("Overhead/bare")
	if bare == nil || bare.pkg != "github.com/sluicehq/sluice/bench" || bare.runs() != 3 {
		t.Fatalf("bare = %+v", bare)
	}
	for unit, want := range map[string]float64{"ns/op": 200, "B/op": 10, "allocs/op": 2} {
		if got, ok := bare.median(unit); !ok || got != want {
			t.Errorf("median %s = %v, %v; want %v", unit, got, ok, want)
		}
	}
	g := rs.get("Goodput/sluice")
	if v, ok := g.median("wall/min"); !ok || v != 1.013 {
		t.Errorf("wall/min = %v, %v", v, ok)
	}
	if _, ok := rs.get("Goodput/missing").median("ns/op"); ok {
		t.Error("a missing benchmark has a median")
	}
}

func TestNumFormatting(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 1234567: "1 234 567", 12.34: "12.3", 1.013: "1.01", -1500: "-1 500"} {
		if got := num(v); got != want {
			t.Errorf("num(%v) = %q, want %q", v, got, want)
		}
	}
}

// A paired benchmark's figure pairs each run's two sides: runs that differ
// from each other by more than the sides do must not decide it.
func TestMedianRatioPairsEachRun(t *testing.T) {
	raw := `BenchmarkHTTP/json-2  10  1 ns/op  100 bare-ns/call  104 metered-ns/call
BenchmarkHTTP/json-2  10  1 ns/op  200 bare-ns/call  206 metered-ns/call
BenchmarkHTTP/json-2  10  1 ns/op  110 bare-ns/call  115.5 metered-ns/call
`
	r := parse(strings.NewReader(raw)).get("HTTP/json")
	v, ok := r.medianRatio("metered-ns/call", "bare-ns/call")
	if !ok || v < 0.0399 || v > 0.0401 {
		t.Fatalf("median ratio = %v, %v; want +4 %% (the runs: +4, +3, +5 %%)", v, ok)
	}
	// The ratio of the sides' medians mixes runs: 115.5/110 here.
	if b, _ := r.median("bare-ns/call"); b != 110 {
		t.Fatalf("bare median %v", b)
	}
	if _, ok := r.medianRatio("metered-ns/call", "missing"); ok {
		t.Fatal("a ratio to a missing unit")
	}
}
