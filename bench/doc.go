// Package bench measures sluice side by side with a bare http.Transport and
// with its peers (hashicorp/go-retryablehttp, failsafe-go's failsafehttp)
// in one `go test -bench` run. `make bench` runs it through bench/run.sh,
// which keeps the raw output in docs/bench/ and writes docs/benchmarks.md.
//
// It is its own module so that the peers and the SDK never enter the core
// module's dependency graph.
package bench
