package pairbench

import (
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{3}, 3},
		{[]time.Duration{5, 1, 3}, 3},
		{[]time.Duration{4, 1, 3, 2}, 3},
	} {
		if got := Median(c.in); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// TestLoopPairsInAlternatingOrder runs Loop under testing.Benchmark and
// checks that both sides ran once per iteration, in alternating order,
// and that the medians are theirs.
func TestLoopPairsInAlternatingOrder(t *testing.T) {
	var order []byte
	var every int
	var ma, mz time.Duration
	testing.Benchmark(func(b *testing.B) {
		order, every = order[:0], 0
		ma, mz = Loop(b,
			func() time.Duration { order = append(order, 'a'); return 1 },
			func() time.Duration { order = append(order, 'z'); return 2 },
			func(int) { every++ })
	})
	if len(order) < 4 || len(order)%2 != 0 || every != len(order)/2 {
		t.Fatalf("%d calls, %d every: want pairs and one every per pair", len(order), every)
	}
	for i := 0; i < len(order); i += 2 {
		want := "az"
		if i/2%2 == 1 {
			want = "za"
		}
		if string(order[i:i+2]) != want {
			t.Fatalf("pair %d ran %q, want %q", i/2, order[i:i+2], want)
		}
	}
	if ma != 1 || mz != 2 {
		t.Fatalf("medians %v, %v, want 1ns, 2ns", ma, mz)
	}
}
