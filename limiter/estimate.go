package limiter

import (
	"math"
	"sync/atomic"
)

// ratio is a model's calibrated bytes-per-token ratio, stored as float64
// bits so readers never lock.
type ratio struct{ bits atomic.Uint64 }

// cost returns what req reserves and whether its input was estimated.
//
// Input tokens are estimated as ceil(bytes / ratio) without a tokenizer; the
// ratio starts at WithBytesPerToken and follows each model's reported input
// tokens (see calibrate). Output is max_tokens, reserved in full.
func (l *Limiter) cost(req Request) (Cost, bool) {
	in, est := req.InputTokens, false
	if in <= 0 && req.InputBytes > 0 {
		in = int64(math.Ceil(float64(req.InputBytes) / l.BytesPerToken(req.Model)))
		est = true
	}
	out := req.MaxOutputTokens
	if out <= 0 {
		out = l.defOut
	}
	return Cost{1, in, out, in + out}, est
}

// BytesPerToken returns the current bytes-per-token ratio for model's
// request bodies.
func (l *Limiter) BytesPerToken(model string) float64 {
	if v, ok := l.models.Load(model); ok {
		return math.Float64frombits(v.(*ratio).bits.Load())
	}
	return l.bpt
}

// calibrate moves model's ratio a quarter of the way towards what one
// request showed (an exponentially weighted moving average, so one odd
// request cannot swing it), within [1, 32] bytes per token.
func (l *Limiter) calibrate(model string, bytes, tokens int64) {
	obs := min(max(float64(bytes)/float64(tokens), 1), 32)
	v, loaded := l.models.Load(model)
	if !loaded {
		r := &ratio{}
		r.bits.Store(math.Float64bits(obs))
		if v, loaded = l.models.LoadOrStore(model, r); !loaded {
			return
		}
	}
	r := v.(*ratio)
	for {
		old := r.bits.Load()
		cur := math.Float64frombits(old)
		if r.bits.CompareAndSwap(old, math.Float64bits(cur+(obs-cur)/4)) {
			return
		}
	}
}
