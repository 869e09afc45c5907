package limiter

import "testing"

// TestEstimateWhileUncalibrated: a model's first reported usages come from
// its first bodies, often small ones whose JSON (keys, roles, quoting)
// outweighs their text. Until a line can be fitted, the estimate for a
// larger body must not fall below its real tokens; once it is fitted, the
// estimate follows the line.
func TestEstimateWhileUncalibrated(t *testing.T) {
	const overhead = 200                                       // bytes of JSON around the text, not counted as tokens
	tokens := func(text int64) int64 { return (text + 3) / 4 } // llmtest's tokenizer
	l := New()
	defer l.Close()
	v, _ := l.models.LoadOrStore("m", &calibration{})
	c := v.(*calibration)
	large := int64(1450)
	for i, text := range []int64{70, 330} { // one sample, then two
		c.add(text+overhead, tokens(text))
		if est, want := l.EstimateInputTokens("m", large+overhead), tokens(large); est < want {
			t.Fatalf("after %d small bodies: %d tokens estimated for a body of %d text bytes, want at least %d", i+1, est, large, want)
		}
	}
	for _, text := range []int64{3000, 800, 5000, 150} { // sizes that vary: a line is fitted
		c.add(text+overhead, tokens(text))
	}
	est, want := l.EstimateInputTokens("m", large+overhead), tokens(large)
	if est < want || float64(est) > float64(want)*1.05 {
		t.Fatalf("fitted: %d tokens estimated, want %d … +5 %%", est, want)
	}
}
