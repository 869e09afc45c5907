package limiter

import "slices"

// OutputRule says how a provider counts a request's output tokens against
// its limits, and so what the limiter reserves for them.
type OutputRule uint8

const (
	// OutputAsGenerated is Anthropic's rule (and the zero value): output
	// tokens count as they are generated and max_tokens plays no part in
	// admission. The limiter reserves what the key's recent responses
	// generated (outputEstimate), at most max_tokens, and settles to the
	// real count; a response longer than the estimate takes the bucket
	// into debt, as the provider's does.
	OutputAsGenerated OutputRule = iota
	// OutputAtMaxTokens is OpenAI's rule for its tokens-per-minute limit:
	// max_tokens is counted in full at admission and settled to the real
	// output at the end, and a request whose max_tokens alone exceed the
	// tokens limit is refused by the provider outright — so Acquire
	// refuses it too, with a *CapacityError.
	OutputAtMaxTokens
)

// outputSamples is how many recent outputs a key's estimate is learned
// from.
const outputSamples = 32

// outputStats are a key's recent output token counts (keyState.mu).
type outputStats struct {
	ring [outputSamples]int64
	n    int   // samples recorded, up to outputSamples
	next int   // ring index of the next sample
	est  int64 // the estimate from the samples: see add
}

// add records one response's output tokens and recomputes the estimate: the
// 90th percentile of the recent outputs (their maximum while there are
// fewer than ten). A high percentile, not the mean, because an
// underestimate is debt that the following requests wait for, while an
// overestimate is refunded the moment the response ends.
func (s *outputStats) add(out int64) {
	s.ring[s.next] = out
	s.next = (s.next + 1) % outputSamples
	s.n = min(s.n+1, outputSamples)
	var sorted [outputSamples]int64
	copy(sorted[:], s.ring[:s.n])
	slices.Sort(sorted[:s.n])
	i := (s.n*9+9)/10 - 1 // ceil(0.9·n) - 1
	if s.n < 10 {
		i = s.n - 1
	}
	s.est = max(sorted[i], 1)
}

// outputEstimate is what a request reserves for its output under rule,
// given its max_tokens (0: not set). ks.mu must be held.
func (l *Limiter) outputEstimate(ks *keyState, maxTokens int64, rule OutputRule) int64 {
	if rule == OutputAtMaxTokens {
		if maxTokens > 0 {
			return maxTokens
		}
		return l.defOut
	}
	est := l.defOut // until the key has reported any usage
	if ks.out.n > 0 {
		est = ks.out.est
	}
	if maxTokens > 0 {
		est = min(est, maxTokens)
	}
	return est
}
