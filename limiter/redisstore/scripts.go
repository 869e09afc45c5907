package redisstore

import (
	_ "embed"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sluicehq/sluice/limiter"
)

var (
	//go:embed lua/prelude.lua
	prelude string
	//go:embed lua/reserve.lua
	reserveSrc string
	//go:embed lua/adjust.lua
	adjustSrc string
	//go:embed lua/observe.lua
	observeSrc string
	//go:embed lua/state.lua
	stateSrc string
	//go:embed lua/cooldown.lua
	cooldownSrc string
)

// One script per operation: go-redis runs each with EVALSHA (one round
// trip) and falls back to EVAL when the server has lost its script cache,
// as after a restart.
var (
	reserveScript  = redis.NewScript(prelude + reserveSrc)
	adjustScript   = redis.NewScript(prelude + adjustSrc)
	observeScript  = redis.NewScript(prelude + observeSrc)
	stateScript    = redis.NewScript(prelude + stateSrc)
	cooldownScript = redis.NewScript(cooldownSrc)
)

// Verdicts of the reserve script.
const (
	verdictOK     = 0
	verdictDenied = 1
)

// cooldownReason is the reason index the reserve script uses for a
// cool-down.
const cooldownReason = 4

// reply is a script's answer: a verdict, its two arguments and the key's
// state.
type reply struct {
	verdict, a, b int64
	state         limiter.State
}

// parseReply decodes a script's reply, converting the server's absolute
// times to the caller's clock: a time t on the server is now + (t - server
// now).
func parseReply(v any, now time.Time) (reply, error) {
	arr, ok := v.([]any)
	if !ok || len(arr) != 6+4*limiter.NumKinds {
		return reply{}, fmt.Errorf("redisstore: unexpected script reply %T", v)
	}
	var r reply
	ints := func(i int) int64 { n, _ := arr[i].(int64); return n }
	r.verdict, r.a, r.b = ints(0), ints(1), ints(2)
	srv := ints(3)
	at := func(us int64) time.Time {
		if us <= 0 {
			return time.Time{}
		}
		return now.Add(time.Duration(us-srv) * time.Microsecond)
	}
	r.state.Learned = ints(4) == 1
	if cd := ints(5); cd > srv {
		r.state.CooldownUntil = at(cd)
	}
	for k := range limiter.NumKinds {
		o := 6 + 4*k
		lvl, _ := arr[o+1].(string)
		level, err := strconv.ParseFloat(lvl, 64)
		if err != nil {
			return reply{}, fmt.Errorf("redisstore: bad level in script reply: %w", err)
		}
		r.state.Buckets[k] = limiter.BucketState{
			Limit: ints(o), Level: level, Learned: ints(o + 2), Reset: at(ints(o + 3)),
		}
	}
	return r, nil
}

// decision turns a reserve reply into the limiter's Decision.
func (r *reply) decision(now time.Time) (limiter.Decision, error) {
	d := limiter.Decision{State: r.state}
	switch r.verdict {
	case verdictOK:
		d.OK = true
	case verdictDenied:
		d.RetryAt = now.Add(time.Duration(r.b) * time.Microsecond)
		d.Reason = limiter.ReasonCooldown
		if r.a != cooldownReason {
			d.Reason = limiter.ReasonFor(limiter.Kind(r.a))
		}
	default:
		return d, fmt.Errorf("redisstore: unknown verdict %d", r.verdict)
	}
	return d, nil
}

// policyArgs are the arguments every bucket script starts with: window
// (us), ttl (ms) and the caps.
func (s *Store) policyArgs(p *limiter.Policy, extra int) []any {
	ttl := max(s.cfg.ttl, 2*p.Window)
	args := make([]any, 0, 6+extra)
	args = append(args, p.Window.Microseconds(), ttl.Milliseconds())
	for _, c := range p.Caps {
		args = append(args, c)
	}
	return args
}
