#!/usr/bin/env bash
# bench/run.sh — what `make bench` runs. In one go it runs every module's
# own benchmarks and the side-by-side benchmarks of bench/, keeps the raw
# `go test -bench` output in docs/bench/ (benchstat reads it), and writes
# docs/benchmarks.md from it with bench/cmd/benchreport.
#
# Tunables (environment): BENCH_ROUNDS (rounds of the paired overhead and
# metering benchmarks, default 8), BENCH_TIME (the overhead benchmarks'
# -benchtime per round, default 1s), BENCH_MODULE_TIME (-benchtime of the
# modules' own benchmarks, default 300ms), BENCH_MODULE_COUNT (default 3).
# docs/bench/meta.txt records the wall time of the run.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
ROUNDS=${BENCH_ROUNDS:-8}
BENCHTIME=${BENCH_TIME:-1s}
MODULE_TIME=${BENCH_MODULE_TIME:-300ms}
MODULE_COUNT=${BENCH_MODULE_COUNT:-3}
OUT=docs/bench
mkdir -p "$OUT"
rm -f "$OUT"/*.txt "$OUT"/commands.tsv

record() { printf '%s\t%s\n' "$1" "$2" >>"$OUT/commands.tsv"; }
started=$(date +%s)

# rounds FILE NAME: BenchmarkNAME of bench/, all its rows in one `go test
# -bench` run, repeated in $ROUNDS rounds so the noise of a shared machine
# hits every row alike (BENCH_ROUND rotates the order of the rows).
rounds() {
	local f=$1 name=$2
	record "$f" "cd bench && BENCH_ROUND=\$i go test -run '^\$' -bench '^Benchmark$name\$' -benchmem -benchtime=$BENCHTIME -count=1 .   # for i in 1..$ROUNDS, appended (BENCH_ROUND rotates the order of the rows)"
	for i in $(seq "$ROUNDS"); do
		echo "== $name round $i/$ROUNDS"
		(cd bench && BENCH_ROUND=$i $GO test -run '^$' -bench "^Benchmark$name\$" -benchmem -benchtime="$BENCHTIME" -count=1 .) | tee -a "$OUT/$f"
	done
}

# 1. Overhead per call: sluice's own work over an in-memory transport, the
# figures its budget is stated in, then over loopback (information); and
# the metering cost through the SDK (§6).
rounds overhead-stub.txt OverheadStub
rounds overhead.txt Overhead
BENCHTIME=3s rounds metering.txt MeteringSDK

# The metering cost over raw loopback reads (§6): internal/usage's paired
# benchmark, in five rounds (it is left out of the modules' run below).
record metering-raw.txt "go test -run '^\$' -bench '^BenchmarkHTTP\$' -benchtime=2s -count=5 ./internal/usage"
echo "== metering-raw"
$GO test -run '^$' -bench '^BenchmarkHTTP$' -benchtime=2s -count=5 ./internal/usage | tee "$OUT/metering-raw.txt"

# 2–5. Scenarios, once each: they report their own figures.
scenario() { # file, bench regexp, extra flags
	local f=$1 re=$2; shift 2
	record "$f" "cd bench && go test -run '^\$' -bench '$re' -benchmem $* -timeout 20m ."
	echo "== $f"
	(cd bench && $GO test -run '^$' -bench "$re" -benchmem "$@" -timeout 20m .) | tee "$OUT/$f"
}
scenario goodput.txt '^BenchmarkGoodput$' -benchtime=1x
scenario outage.txt '^BenchmarkOutage$' -benchtime=1x
scenario chaos.txt '^BenchmarkChaos$' -benchtime=1x
scenario stream.txt '^BenchmarkTTFB$' -benchtime=1000x -count=5
scenario heap.txt '^BenchmarkStreamHeap$' -benchtime=3x
scenario scale.txt '^BenchmarkWaiters10k$' -benchtime=3x

# 0. Never worse than the bare SDK: examples/neverworse, once.
record neverworse.txt "cd examples && go test -run '^\$' -bench '^BenchmarkNeverWorse\$' -benchtime=1x -timeout 20m ./neverworse"
echo "== neverworse.txt"
(cd examples && $GO test -run '^$' -bench '^BenchmarkNeverWorse$' -benchtime=1x -timeout 20m ./neverworse) | tee "$OUT/neverworse.txt"

# The proxy (cmd/sluice): `sluice proxy` beside a bare httputil.ReverseProxy
# and a direct connection, on loopback to one llmtest server — throughput,
# latency added at 1 000 requests/s (p50/p99), time to the first SSE event,
# CPU per call with no network —
# and the quota scenario beside the Portkey gateway (skipped without npm).
record proxy.txt "cd cmd/sluice && go test -run '^\$' -bench '^BenchmarkProxy(Throughput|TTFB|CPU)\$' -benchtime=2s -count=3 ./internal/proxy && go test -run '^\$' -bench '^BenchmarkProxy(Latency|Quota)\$' -benchtime=1x -count=1 -timeout 20m ./internal/proxy"
echo "== proxy.txt"
(cd cmd/sluice && $GO test -run '^$' -bench '^BenchmarkProxy(Throughput|TTFB|CPU)$' -benchtime=2s -count=3 ./internal/proxy && \
	$GO test -run '^$' -bench '^BenchmarkProxy(Latency|Quota)$' -benchtime=1x -count=1 -timeout 20m ./internal/proxy) | tee "$OUT/proxy.txt"

# Every other module's own benchmarks (go.work), in the same run.
record modules.txt "for m in \$(go list -m -f '{{.Dir}}' | grep -v /bench\$); do (cd \$m && go test -run '^\$' -bench . -skip '^Benchmark(HTTP|NeverWorse|Proxy[A-Za-z]*)\$' -benchmem -benchtime=$MODULE_TIME -count=$MODULE_COUNT -timeout 10m ./...); done"
: >"$OUT/modules.txt"
for m in $($GO list -m -f '{{.Dir}}' | grep -v '/bench$'); do
	echo "== module $m"
	(cd "$m" && $GO test -run '^$' -bench . -skip '^Benchmark(HTTP|NeverWorse|Proxy[A-Za-z]*)$' -benchmem -benchtime="$MODULE_TIME" -count="$MODULE_COUNT" -timeout 10m ./...) | grep -v '^ok\|no test files' | tee -a "$OUT/modules.txt" || echo "benchmarks of module ./$(realpath --relative-to=. "$m" | sed "s/^\.$//") failed (exit status of go test)" | tee -a "$OUT/modules.txt"
done

{
	echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
	echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!docs' || echo ' (with local changes)')"
	echo "go: $($GO env GOVERSION) $($GO env GOOS)/$($GO env GOARCH)"
	echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
	echo "wall time of make bench: $(($(date +%s) - started)) s"
} >"$OUT/meta.txt"
(cd bench && $GO run ./cmd/benchreport -dir "../$OUT" -out ../docs/benchmarks.md)
echo "wrote docs/benchmarks.md and $OUT/"
