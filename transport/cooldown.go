package transport

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/sluicehq/sluice/limiter"
)

// cooldownUntil is the one rule by which a response starts a cool-down;
// the limit layer (into its limiter, per API key and model) and the retry
// layer's own cool-down (per host and model) both apply it. A 429 or 529
// whose server delay (retry-after-ms, Retry-After) is positive and at most
// maxDelay (RetrySettings.MaxServerDelay: a longer one is a hard limit or a hostile
// header, and must not shut the key for years) cools its key down until now
// plus that delay. status is what the response counts as: its own status,
// or the 429 or 529 the retry layer reads from a stream whose first event
// is a rate_limit_error or an overloaded_error. A hard quota (hardQuota)
// starts none: waiting does not fix it, and the key would be frozen for the
// server's delay only to meet the same refusal.
func cooldownUntil(resp *http.Response, status int, now time.Time, maxDelay time.Duration) (time.Time, bool) {
	if status != http.StatusTooManyRequests && status != 529 {
		return time.Time{}, false
	}
	d, _, ok := serverDelay(resp.Header, now)
	if !ok || d <= 0 || d > maxDelay || hardQuota(resp) { // hardQuota may peek at the body: last
		return time.Time{}, false
	}
	return now.Add(d), true
}

// cooldownKey is what the retry layer's cool-down holds back: one host and
// one model, the unit the providers rate-limit by (Anthropic and OpenAI
// limits are per model within an organisation).
type cooldownKey struct {
	host, model string
}

func (k cooldownKey) String() string { return k.host + " " + k.model }

// cooldownPolicy is the Policy of the retry layer's cool-down store: no
// limits, only cool-downs.
var cooldownPolicy = limiter.Policy{Window: time.Minute}

// cooldown is the retry layer's shared cool-down, for a retry layer with no
// limit layer beneath it (Retry alone, or New with WithoutLimit): when an
// attempt's response starts a cool-down (cooldownUntil), every other
// request through the same layer to the same key waits until that moment
// instead of learning about the limit by hitting it again. The cool-downs
// are kept by the limiter's own implementation, an in-process
// limiter.MemoryStore (Store.Cooldown: extend, never shorten), under the
// host and model instead of the API key and model; transport.New, whose
// limiter keeps them, turns this one off.
//
// latest is when the latest cool-down set ends (Unix ns), 0 once all have
// ended, so that the common case — no cool-down anywhere — costs one atomic
// load and never parses the request body.
type cooldown struct {
	store  *limiter.MemoryStore
	latest atomic.Int64
}

func newCooldown() *cooldown {
	return &cooldown{store: limiter.NewMemoryStore()}
}

// active reports whether any key may be cooling down.
func (c *cooldown) active() bool { return c.latest.Load() != 0 }

// remaining returns how long k still cools down at now, 0 when it does not.
// A key found cooled down is forgotten.
func (c *cooldown) remaining(k cooldownKey, now time.Time) time.Duration {
	latest := c.latest.Load()
	if latest == 0 {
		return 0
	}
	if now.UnixNano() >= latest {
		c.latest.CompareAndSwap(latest, 0) // unless a new one began meanwhile
		return 0
	}
	key := k.String()
	st, err := c.store.State(context.Background(), key, &cooldownPolicy, now)
	if err != nil || !st.CooldownUntil.After(now) {
		c.store.Forget(key)
		return 0
	}
	return st.CooldownUntil.Sub(now)
}

// extend makes k cool down until at least u.
func (c *cooldown) extend(k cooldownKey, u time.Time) {
	_ = c.store.Cooldown(context.Background(), k.String(), u)
	for {
		latest := c.latest.Load()
		if u.UnixNano() <= latest || c.latest.CompareAndSwap(latest, u.UnixNano()) {
			return
		}
	}
}
