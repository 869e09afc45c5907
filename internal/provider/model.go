package provider

import "strings"

// ModelClass returns the name of the rate limit model shares with others,
// or model itself when it has its own. Anthropic's documented classes
// (rate-limit docs, 2026): every Claude Opus 4.x model (Opus 4, 4.1, 4.5,
// 4.6, 4.7, 4.8) counts against one "claude-opus-4" limit, and Claude
// Sonnet 4.5 and 4.6 against one "claude-sonnet-4.x" limit. Dated and
// aliased names ("claude-opus-4-8-20260301", "claude-sonnet-4-6") fall in
// their class.
func ModelClass(model string) string {
	switch {
	case strings.HasPrefix(model, "claude-opus-4"):
		return "claude-opus-4"
	case strings.HasPrefix(model, "claude-sonnet-4-5"), strings.HasPrefix(model, "claude-sonnet-4-6"):
		return "claude-sonnet-4.x"
	}
	return model
}

// CountsCacheReads reports whether an Anthropic model's input-tokens limit
// counts cache reads too: most do not (cache_read_input_tokens are free of
// ITPM), a few older ones do — in 2026, Claude Haiku 3.5.
func CountsCacheReads(model string) bool {
	return strings.HasPrefix(model, "claude-3-5-haiku")
}
