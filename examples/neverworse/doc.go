// Package neverworse is sluice's regression suite for its first rule: a
// resilience layer must never make a workload worse than the bare SDK.
//
// Every scenario the fake API (llmtest) can play — a quota, prompt caching,
// large max_tokens, an outage, chaos, a hard quota, errors in the first
// event of a stream — runs twice with the real SDK: bare, with
// option.WithMaxRetries(4), and through transport.New(nil) wired as the
// docs say (option.WithMaxRetries(0); sluice is told only the compressed
// window). TestNeverWorse fails if sluice fails a call more than the SDK
// does; BenchmarkNeverWorse (make bench, docs/benchmarks.md §0) reports the
// wall-time ratio, whose target is ≤ 1.10× wherever the SDK completes every
// call. Run it with
//
//	cd examples && go test -run TestNeverWorse -v ./neverworse
//	cd examples && go test -run '^$' -bench NeverWorse -benchtime=1x ./neverworse
package neverworse
