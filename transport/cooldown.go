package transport

import (
	"sync"
	"sync/atomic"
	"time"
)

// cooldownKey is what one cool-down holds back: one host and one model, the
// unit the providers rate-limit by (Anthropic and OpenAI limits are per
// model within an organisation).
type cooldownKey struct {
	host, model string
}

// cooldown is the retry layer's shared cool-down: when an attempt gets a 429
// or 529 with a server delay, every other request through the same layer to
// the same key waits until that moment instead of learning about the limit
// by hitting it again. It is in-process; the limit layer keeps a per-API-key
// equivalent that transport.New uses instead (WithoutCooldown).
//
// mu guards until. n mirrors len(until) so the common case — no cool-down
// anywhere — costs one atomic load and never parses the request body.
type cooldown struct {
	n     atomic.Int64
	mu    sync.Mutex
	until map[cooldownKey]time.Time
}

func newCooldown() *cooldown {
	return &cooldown{until: make(map[cooldownKey]time.Time)}
}

// active reports whether any key may be cooling down.
func (c *cooldown) active() bool { return c.n.Load() > 0 }

// remaining returns how long k still cools down at now, 0 when it does not.
// Expired entries are removed.
func (c *cooldown) remaining(k cooldownKey, now time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := c.until[k]
	if !ok {
		return 0
	}
	if !u.After(now) {
		delete(c.until, k)
		c.n.Store(int64(len(c.until)))
		return 0
	}
	return u.Sub(now)
}

// extend makes k cool down until at least u, sweeping expired keys.
func (c *cooldown) extend(k cooldownKey, u, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, v := range c.until {
		if !v.After(now) {
			delete(c.until, key)
		}
	}
	if u.After(c.until[k]) {
		c.until[k] = u
	}
	c.n.Store(int64(len(c.until)))
}
