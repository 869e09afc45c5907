// Package pairbench times two ways of doing the same thing call by call,
// for benchmarks on a shared machine, where a loopback call varies by tens
// of percent from one second to the next: more than most of what sluice's
// benchmarks measure. Pairing the calls makes the load of the moment hit
// both sides alike, so their ratio holds still when their times do not.
package pairbench

import (
	"slices"
	"testing"
	"time"
)

// Loop runs b's timed loop. Each iteration calls a and z once each, in
// alternating order, then every(i) when every is not nil. Loop returns
// the medians of a's and z's own durations, as a and z report them.
func Loop(b *testing.B, a, z func() time.Duration, every func(i int)) (ma, mz time.Duration) {
	var as, zs []time.Duration
	for i := 0; b.Loop(); i++ {
		var da, dz time.Duration
		if i%2 == 0 {
			da, dz = a(), z()
		} else {
			dz, da = z(), a()
		}
		as, zs = append(as, da), append(zs, dz)
		if every != nil {
			every(i)
		}
	}
	return Median(as), Median(zs)
}

// Median returns the median of d, sorting d; 0 when d is empty.
func Median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[len(d)/2]
}
