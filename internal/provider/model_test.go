package provider

import "testing"

func TestModelClass(t *testing.T) {
	for model, want := range map[string]string{
		"claude-opus-4-8":            "claude-opus-4",
		"claude-opus-4-1-20250805":   "claude-opus-4",
		"claude-opus-4-5":            "claude-opus-4",
		"claude-sonnet-4-6":          "claude-sonnet-4.x",
		"claude-sonnet-4-5-20250929": "claude-sonnet-4.x",
		"claude-sonnet-4-20250514":   "claude-sonnet-4-20250514",
		"claude-haiku-4-5":           "claude-haiku-4-5",
		"gpt-5":                      "gpt-5",
		"":                           "",
	} {
		if got := ModelClass(model); got != want {
			t.Errorf("ModelClass(%q) = %q, want %q", model, got, want)
		}
	}
	if !CountsCacheReads("claude-3-5-haiku-20241022") || CountsCacheReads("claude-sonnet-4-6") {
		t.Error("CountsCacheReads: only Claude Haiku 3.5 counts reads")
	}
}
