package limiter

import "time"

// Kind is one of the quantities a provider limits per window.
type Kind uint8

// The kinds of limit. Anthropic limits requests, input tokens and output
// tokens per minute (and reports a combined tokens limit); OpenAI limits
// requests and tokens per minute.
const (
	Requests     Kind = iota // requests per window
	InputTokens              // input tokens per window (Anthropic ITPM)
	OutputTokens             // output tokens per window (Anthropic OTPM)
	Tokens                   // input+output tokens per window (OpenAI TPM)

	// NumKinds is the number of kinds; arrays indexed by Kind have this length.
	NumKinds = 4
)

// String returns the kind's name as used in telemetry: "requests",
// "input_tokens", "output_tokens" or "tokens".
func (k Kind) String() string {
	switch k {
	case Requests:
		return "requests"
	case InputTokens:
		return "input_tokens"
	case OutputTokens:
		return "output_tokens"
	case Tokens:
		return "tokens"
	}
	return "unknown"
}

// Reason says why an acquire waited: a bucket of one Kind (ReasonFor),
// the concurrency cap or a cool-down. Its value is the name telemetry
// shows.
type Reason string

// The wait reasons that are not a bucket's.
const (
	ReasonNone        Reason = "" // it did not wait
	ReasonConcurrency Reason = "concurrency"
	ReasonCooldown    Reason = "cooldown"
)

// ReasonFor returns the wait reason of a bucket kind: its name,
// "requests", "input_tokens", "output_tokens" or "tokens".
func ReasonFor(k Kind) Reason {
	return Reason(k.String())
}

// tokens reports whether r is a token bucket's: a wait computed from
// estimates, not counts.
func (r Reason) tokens() bool {
	return r == ReasonFor(InputTokens) || r == ReasonFor(OutputTokens) || r == ReasonFor(Tokens)
}

// waitReasons lists every reason an acquire may wait for; a Reservation
// keeps its waits by index in it.
var waitReasons = [...]Reason{ReasonFor(Requests), ReasonFor(InputTokens), ReasonFor(OutputTokens), ReasonFor(Tokens), ReasonConcurrency, ReasonCooldown}

// Cost is an amount per kind: what a request reserves, or a settlement's
// signed correction.
type Cost [NumKinds]int64

// Limits are limits per window. Zero means "not set".
type Limits struct {
	Requests     int64
	InputTokens  int64
	OutputTokens int64
	Tokens       int64
}

func (l Limits) array() [NumKinds]int64 {
	return [NumKinds]int64{l.Requests, l.InputTokens, l.OutputTokens, l.Tokens}
}

// Reading is what a provider reported about one kind of limit in a
// response's rate-limit headers.
type Reading struct {
	// Limit is the capacity per window; 0 means not reported.
	Limit int64
	// Remaining is what is left now; meaningful only when HasRemaining.
	Remaining    int64
	HasRemaining bool
	// Reset is when the bucket is full again (zero when not reported).
	Reset time.Time
	// Rounding is the unit the provider rounds Remaining to (Anthropic
	// rounds its token counts to the nearest thousand); 0 means exact. A
	// Remaining that is a multiple of Rounding is read as the top of the
	// values it may stand for, so that rounding down never makes the
	// limiter hold back the last tokens of a bucket.
	Rounding int64
}

// Observation is one response's rate-limit headers, per kind.
type Observation [NumKinds]Reading

// Empty reports whether o carries no reading at all.
func (o *Observation) Empty() bool {
	for _, r := range o {
		if r.Limit > 0 || r.HasRemaining {
			return false
		}
	}
	return true
}

// Priority orders waiters of one key: every queued Interactive acquire is
// served before any queued Batch one. Within a priority the queue is FIFO.
type Priority uint8

// Priorities.
const (
	Interactive Priority = iota // the default: a user is waiting
	Batch                       // background work that can yield
)
