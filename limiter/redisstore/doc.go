// Package redisstore keeps a limiter's token buckets and cool-downs in
// Redis, so that every process spending one provider quota — the replicas
// of a service, the workers of a batch job — shares one set of buckets
// instead of each assuming the whole quota is its own.
//
// Plug it in with limiter.WithStore:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
//	st := redisstore.New(rdb, redisstore.WithReplicas(4))
//	defer st.Close()
//	l := limiter.New(limiter.WithStore(st))
//
// # Model
//
// Every operation is one Lua script, so one Redis round trip: Reserve
// checks and charges all of a key's buckets (requests, input tokens, output
// tokens, tokens) atomically, Adjust applies a settlement's correction,
// Observe adopts the limits a provider reported, Cooldown extends the key's
// cool-down. The scripts read the time with Redis's TIME, so processes whose
// clocks disagree still agree on when a bucket refills or a cool-down ends;
// what they return is converted to the caller's clock as durations. The
// buckets behave exactly like limiter.MemoryStore's.
//
// Learned limits and cool-downs are fleet-wide: a 429 with Retry-After seen
// by one process pauses every process of that key, and rate-limit headers
// seen by one process update the buckets of all.
//
// Keys are "<prefix>:{<hash>}:b" (a hash of the buckets) and
// "<prefix>:{<hash>}:cd" (the cool-down), where hash is a SHA-256 prefix of
// the limiter key: the key (which holds an API-key fingerprint) never
// appears in Redis, and the hash tag puts both keys in one Redis Cluster
// slot. Both expire when unused.
//
// # When Redis fails
//
// Redis trouble never stops the application. Each operation is bounded by
// WithTimeout; when one fails, the store switches to local limits — an
// in-process limiter.MemoryStore holding WithLocalShare of each limit
// (default quota / WithReplicas) — logs once, counts it, and probes Redis
// in the background until it answers, then switches back. WithFailureMode
// chooses what local mode means: FailLocal (the default), FailOpen (no
// limits, cool-downs still honoured) or FailClosed (operations fail with
// ErrUnavailable).
//
// docs/distributed.md describes the design, its consistency guarantees and
// failure modes.
package redisstore
