package transport

import (
	"sync"
	"time"
)

// budgetBuckets is the resolution of the budget's sliding window.
const budgetBuckets = 10

// retryBudget bounds retries to ratio × recent calls + minPerSecond × window,
// counted over a sliding window of budgetBuckets buckets — the model of
// Finagle's RetryBudget and Envoy's retry_budget. It is written here rather
// than taken from failsafe-go (whose budget is the nearest match) because
// that would pull failsafe's generic policy machinery, grpc and tdigest into
// the root module for some forty lines.
//
// mu guards the bucket arrays; the critical sections are a few additions.
type retryBudget struct {
	ratio      float64
	minRetries float64 // minPerSecond × window
	bucketDur  int64   // nanoseconds per bucket

	mu      sync.Mutex
	epoch   [budgetBuckets]int64 // which bucket period each slot holds
	calls   [budgetBuckets]int64
	retries [budgetBuckets]int64
}

func newRetryBudget(ratio, minPerSecond float64, window time.Duration) *retryBudget {
	return &retryBudget{
		ratio:      ratio,
		minRetries: minPerSecond * window.Seconds(),
		bucketDur:  int64(window) / budgetBuckets,
	}
}

// slot returns the index of now's bucket, clearing it if it held an older
// period. Called with mu held.
func (b *retryBudget) slot(now time.Time) int {
	e := now.UnixNano() / b.bucketDur
	i := int(e % budgetBuckets)
	if b.epoch[i] != e {
		b.epoch[i], b.calls[i], b.retries[i] = e, 0, 0
	}
	return i
}

// deposit records one logical call.
func (b *retryBudget) deposit(now time.Time) {
	b.mu.Lock()
	b.calls[b.slot(now)]++
	b.mu.Unlock()
}

// untilRoom returns how long until the budget may have room for one more
// retry: the start of the next bucket, when the oldest one's calls and
// retries leave the window. ok is false when waiting cannot help: no
// retry in the window will expire and the calls alone never allow one
// (a zero budget, or an idle client whose own calls are all it has).
func (b *retryBudget) untilRoom(now time.Time) (d time.Duration, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	calls, retries := b.sums(now)
	if retries == 0 && b.ratio*float64(calls)+b.minRetries < 1 {
		return 0, false
	}
	ns := now.UnixNano()
	return time.Duration(b.bucketDur - ns%b.bucketDur), true
}

// sums adds up the calls and retries of the window. Called with mu held.
func (b *retryBudget) sums(now time.Time) (calls, retries int64) {
	oldest := now.UnixNano()/b.bucketDur - budgetBuckets + 1
	for j := range budgetBuckets {
		if b.epoch[j] >= oldest {
			calls += b.calls[j]
			retries += b.retries[j]
		}
	}
	return calls, retries
}

// withdraw reports whether one more retry fits the budget and, if so,
// records it.
func (b *retryBudget) withdraw(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := b.slot(now)
	calls, retries := b.sums(now)
	if float64(retries+1) > b.ratio*float64(calls)+b.minRetries {
		return false
	}
	b.retries[i]++
	return true
}
