package llmtest

import (
	"sync"
	"time"
)

// Bucket names, as used in rate-limit messages and bucketState.
const (
	bucketRequests     = "requests"
	bucketInputTokens  = "input_tokens"
	bucketOutputTokens = "output_tokens"
	bucketTokens       = "tokens"
)

// demand is what one request asks of its buckets: each is checked and
// taken at admission. With generated, the output bucket is not checked
// against output but admits while its level is positive, and generated is
// charged to it whatever the level (Anthropic's OTPM counted as output is
// produced: the bucket may go into debt).
type demand struct {
	requests, input, output, tokens float64
	counted                         bool // output is counted as generated
	generated                       float64
}

// bucketState is one bucket's state after admission, for the headers.
type bucketState struct {
	name      string
	limit     int64
	remaining int64
	reset     time.Duration // until full
}

// verdict is the outcome of an admission.
type verdict struct {
	ok bool
	// tooLarge means the request needs more than a bucket's capacity and
	// can never be admitted.
	tooLarge bool
	wait     time.Duration // until every bucket could admit the request
	// limiting is the bucket that refused (the one with the longest wait),
	// with its limit and what the request asked of it.
	limiting           string
	limit, asked, have float64
	window             time.Duration // the quota's refill period
	states             []bucketState
}

// quotas holds the buckets of every (provider, key, model). mu guards
// limits and every bucket in it.
type quotas struct {
	q      Quota
	window time.Duration
	fill   float64
	start  time.Time

	mu     sync.Mutex
	limits map[quotaKey]*limits
}

type quotaKey struct{ provider, key, model string }

// limits are the buckets of one quotaKey; nil means unlimited.
type limits struct {
	requests, input, output, tokens *bucket
}

func (l *limits) each(f func(name string, b *bucket)) {
	for _, nb := range []struct {
		n string
		b *bucket
	}{{bucketRequests, l.requests}, {bucketInputTokens, l.input}, {bucketOutputTokens, l.output}, {bucketTokens, l.tokens}} {
		if nb.b != nil {
			f(nb.n, nb.b)
		}
	}
}

func (q *quotas) get(k quotaKey, now time.Time) *limits {
	l := q.limits[k]
	if l != nil {
		return l
	}
	l = &limits{}
	mk := func(c int) *bucket {
		if c <= 0 {
			return nil
		}
		return newBucket(c, q.window, q.fill, q.start, now)
	}
	l.requests = mk(q.q.Requests)
	if k.provider == providerAnthropic {
		l.input, l.output = mk(q.q.InputTokens), mk(q.q.OutputTokens)
	} else {
		l.tokens = mk(q.q.Tokens)
	}
	q.limits[k] = l
	return l
}

func (d demand) of(name string) float64 {
	switch name {
	case bucketRequests:
		return d.requests
	case bucketInputTokens:
		return d.input
	case bucketOutputTokens:
		return d.output
	}
	return d.tokens
}

// admit takes d from every bucket of k at once, or from none.
func (q *quotas) admit(k quotaKey, d demand, now time.Time) verdict {
	q.mu.Lock()
	defer q.mu.Unlock()
	l := q.get(k, now)
	v := verdict{ok: true}
	l.each(func(name string, b *bucket) {
		b.refill(now)
		n := d.of(name)
		if name == bucketOutputTokens && d.counted {
			// Admitted while the level is positive; otherwise the wait is
			// until it is (a millisecond past zero).
			if b.level <= 0 && !v.tooLarge {
				w := time.Duration(-b.level/b.perSec*float64(time.Second)) + time.Millisecond
				if v.ok || w > v.wait {
					v = verdict{wait: w, limiting: name, limit: b.capacity, asked: 1, have: b.level}
				}
			}
			return
		}
		if n > b.capacity {
			if !v.tooLarge {
				v = verdict{tooLarge: true, limiting: name, limit: b.capacity, asked: n}
			}
			return
		}
		if w := b.wait(n); w > 0 && !v.tooLarge {
			if v.ok || w > v.wait {
				v = verdict{wait: w, limiting: name, limit: b.capacity, asked: n, have: b.level}
			}
		}
	})
	if v.ok {
		l.each(func(name string, b *bucket) {
			b.take(d.of(name))
			if name == bucketOutputTokens && d.counted {
				b.take(d.generated)
			}
		})
	}
	v.states = q.states(l)
	v.window = q.window
	return v
}

// settle refunds what an admitted request reserved but did not use.
func (q *quotas) settle(k quotaKey, refund demand, now time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	l := q.get(k, now)
	l.each(func(name string, b *bucket) {
		if n := refund.of(name); n != 0 {
			b.refill(now)
			b.refund(n)
		}
	})
}

func (q *quotas) states(l *limits) []bucketState {
	var s []bucketState
	l.each(func(name string, b *bucket) {
		s = append(s, bucketState{name: name, limit: int64(b.capacity), remaining: b.remaining(), reset: b.untilFull()})
	})
	return s
}

// peek returns the state of k's buckets at now without charging them.
func (q *quotas) peek(k quotaKey, now time.Time) []bucketState {
	q.mu.Lock()
	defer q.mu.Unlock()
	l := q.get(k, now)
	l.each(func(_ string, b *bucket) { b.refill(now) })
	return q.states(l)
}
