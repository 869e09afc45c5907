package main

import (
	"bufio"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// result holds every measurement of one benchmark, by unit, across the
// runs (rounds, -count) of one raw file.
type result struct {
	pkg, name string
	values    map[string][]float64
}

// median returns the median of the benchmark's measurements in unit, and
// whether there were any.
func (r *result) median(unit string) (float64, bool) {
	if r == nil || len(r.values[unit]) == 0 {
		return 0, false
	}
	v := slices.Clone(r.values[unit])
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2], true
	}
	return (v[n/2-1] + v[n/2]) / 2, true
}

// medianRatio returns the median over the runs of num/den - 1, each run's
// two measurements taken together: the figure of a paired benchmark, whose
// runs differ from each other more than its two sides differ within one.
func (r *result) medianRatio(num, den string) (float64, bool) {
	return r.medianPaired(num, den, func(n, d float64) float64 { return n/d - 1 })
}

// medianDiff returns the median over the runs of num - den, each run's two
// measurements taken together, as medianRatio does.
func (r *result) medianDiff(num, den string) (float64, bool) {
	return r.medianPaired(num, den, func(n, d float64) float64 { return n - d })
}

// medianPaired returns the median over the runs of f(num, den).
func (r *result) medianPaired(num, den string, f func(n, d float64) float64) (float64, bool) {
	if r == nil || len(r.values[num]) == 0 || len(r.values[num]) != len(r.values[den]) {
		return 0, false
	}
	per := &result{values: map[string][]float64{}}
	for i, n := range r.values[num] {
		per.values["r"] = append(per.values["r"], f(n, r.values[den][i]))
	}
	return per.median("r")
}

// runs is how many measurements of ns/op the benchmark has.
func (r *result) runs() int { return len(r.values["ns/op"]) }

// results is a parsed raw `go test -bench` file, in first-seen order.
type results struct {
	order []*result
	byKey map[string]*result
}

// procSuffix is the -GOMAXPROCS suffix go test appends to names.
var procSuffix = regexp.MustCompile(`-\d+$`)

// parse reads the standard benchmark format (the one benchstat reads):
// "pkg: ..." lines set the package; "BenchmarkX-N  iters  v unit  v unit".
func parse(r io.Reader) *results {
	rs := &results{byKey: map[string]*result{}}
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := procSuffix.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), "")
		key := pkg + " " + name
		res := rs.byKey[key]
		if res == nil {
			res = &result{pkg: pkg, name: name, values: map[string][]float64{}}
			rs.byKey[key] = res
			rs.order = append(rs.order, res)
		}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				res.values[f[i+1]] = append(res.values[f[i+1]], v)
			}
		}
	}
	return rs
}

// get returns the benchmark called name (without the -N suffix) in any
// package, or nil.
func (rs *results) get(name string) *result {
	for _, r := range rs.order {
		if r.name == name {
			return r
		}
	}
	return nil
}

func sortStrings(s []string) { slices.Sort(s) }
