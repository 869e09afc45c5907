package limiter

import (
	"math"
	"sync"
	"sync/atomic"
)

// calibration is one model's fit of input tokens against body bytes.
//
// A body's tokens are close to linear in its size, with an intercept: the
// JSON around the text (keys, roles, quoting) adds bytes the tokenizer
// mostly does not count, so a single bytes-per-token ratio learned from
// small bodies underestimates large ones — the error that turns into 429s.
// calibration therefore fits tokens = slope·bytes + intercept by
// exponentially weighted least squares over the recent requests, and falls
// back to the mean ratio (for larger bodies, no lower an estimate than the
// starting ratio's: see estimateTokens) until the sizes seen vary enough to
// fit a line.
type calibration struct {
	mu                     sync.Mutex // guards the sums
	w, sx, sy, sxx, sxy    float64    // weighted sums of bytes (x) and tokens (y)
	slope, intercept, rate atomic.Uint64
	meanBytes              atomic.Uint64 // the weighted mean size the rate was learned from
}

// estimateMargin is the margin an estimate from size takes for the fit's
// noise: 2 % above it.
const estimateMargin = 1.02

// decay is the weight each older sample keeps per new one: about the last
// 20 requests count.
const decay = 0.95

// modelCal pairs a model with its calibration (keyState.cal).
type modelCal struct {
	model string
	c     *calibration
}

// calibrationFor returns model's calibration, creating it on first use,
// through ks's one-entry cache.
func (l *Limiter) calibrationFor(ks *keyState, model string) *calibration {
	if mc := ks.cal.Load(); mc != nil && mc.model == model {
		return mc.c
	}
	v, ok := l.models.Load(model)
	if !ok { // LoadOrStore alone would allocate a calibration on every call
		v, _ = l.models.LoadOrStore(model, &calibration{})
	}
	c := v.(*calibration)
	ks.cal.Store(&modelCal{model: model, c: c})
	return c
}

// cost returns what req reserves and, when its input was estimated from
// its size, the calibration that estimated it: the input the provider will
// count (the body's tokens less those of a prefix known to be cached) and
// the output by req.Output's rule. ks.mu must be held.
func (l *Limiter) cost(ks *keyState, req Request, mono int64) (Cost, *calibration) {
	in := req.InputTokens
	var c *calibration
	if in <= 0 && req.InputBytes > 0 {
		c = l.calibrationFor(ks, req.Model)
		in = l.estimateTokens(c, req.InputBytes)
	}
	if len(req.Prefixes) > 0 {
		// The estimate's margin (estimateTokens) is for the tokens it
		// guesses; taking it off the cached part too leaves the margin on
		// the uncached tail alone, which is all the provider counts.
		if cached := ks.cachedTokens(req.Prefixes, mono); cached > 0 {
			if c != nil {
				cached = int64(float64(cached) * estimateMargin)
			}
			in = max(in-cached, 1)
		}
	}
	out := l.outputEstimate(ks, req.MaxOutputTokens, req.Output)
	return Cost{1, in, out, in + out}, c
}

// EstimateInputTokens returns the input tokens the limiter expects from a
// request body of the given size for model: bytes / WithBytesPerToken until
// the model has reported usage, then the calibrated fit. Estimates err high
// rather than low: an underestimate is a 429, an overestimate is refunded
// when the request settles.
func (l *Limiter) EstimateInputTokens(model string, bytes int64) int64 {
	var c *calibration
	if v, ok := l.models.Load(model); ok {
		c = v.(*calibration)
	}
	return l.estimateTokens(c, bytes)
}

// estimateTokens is EstimateInputTokens with the model's calibration (nil: none).
func (l *Limiter) estimateTokens(c *calibration, bytes int64) int64 {
	x := float64(bytes)
	est := x / l.bpt
	if c != nil {
		if s := math.Float64frombits(c.slope.Load()); s > 0 {
			est = (s*x + math.Float64frombits(c.intercept.Load())) * estimateMargin
		} else if r := math.Float64frombits(c.rate.Load()); r > 0 {
			// Until a line is fitted, the mean ratio holds for bodies the
			// size of those it was learned from. For a larger body it may
			// only make the estimate higher than the starting ratio does,
			// never lower: learned from the first (often small) bodies, it
			// counts their JSON as text and would underestimate every larger
			// body by half and more (TestEstimateWhileUncalibrated) — how the
			// first burst after a key's first responses drew 429s.
			if x > math.Float64frombits(c.meanBytes.Load()) {
				r = min(r, l.bpt)
			}
			est = x / r * estimateMargin
		}
	}
	return max(int64(math.Ceil(est)), 1)
}

// add adds one request's size and reported input tokens to the fit.
func (c *calibration) add(bytes, tokens int64) {
	x, y := float64(bytes), float64(tokens)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.w = c.w*decay + 1
	c.sx = c.sx*decay + x
	c.sy = c.sy*decay + y
	c.sxx = c.sxx*decay + x*x
	c.sxy = c.sxy*decay + x*y
	c.rate.Store(math.Float64bits(min(max(c.sx/c.sy, 1), 32)))
	mx := c.sx / c.w
	c.meanBytes.Store(math.Float64bits(mx))
	varx := c.sxx/c.w - mx*mx
	if c.w < 3 || varx <= (0.1*mx)*(0.1*mx) { // sizes too alike to fit a line
		c.slope.Store(0)
		return
	}
	slope := (c.sxy/c.w - mx*c.sy/c.w) / varx
	if slope < 1.0/32 || slope > 1 {
		c.slope.Store(0)
		return
	}
	c.slope.Store(math.Float64bits(slope))
	c.intercept.Store(math.Float64bits(c.sy/c.w - slope*mx))
}

// BytesPerToken returns model's mean bytes-per-token ratio: the starting
// ratio (WithBytesPerToken) until the model has reported usage.
func (l *Limiter) BytesPerToken(model string) float64 {
	if v, ok := l.models.Load(model); ok {
		if r := math.Float64frombits(v.(*calibration).rate.Load()); r > 0 {
			return r
		}
	}
	return l.bpt
}
