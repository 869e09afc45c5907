package llmtest

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
)

// endpoint is the API a request is for. llmtest routes by itself rather than
// with sluice's own provider detection, so that a bug there shows against
// the fake instead of being mirrored by it.
type endpoint uint8

const (
	epOther       endpoint = iota
	epMessages             // Anthropic POST /v1/messages
	epCountTokens          // Anthropic POST /v1/messages/count_tokens
	epChat                 // OpenAI POST /v1/chat/completions
	epResponses            // OpenAI POST /v1/responses
)

// route names the endpoint of r by its path (matched by suffix, so a base
// URL with a prefix works) and the dialect that answers it. An unknown path
// is answered in the shape its authentication headers suggest: OpenAI for a
// bearer token without Anthropic headers, Anthropic otherwise.
func route(r *http.Request) (dialect, endpoint) {
	p := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case strings.HasSuffix(p, "/v1/messages/count_tokens"):
		return anthropic{}, epCountTokens
	case strings.HasSuffix(p, "/v1/messages"):
		return anthropic{}, epMessages
	case strings.HasSuffix(p, "/v1/chat/completions"):
		return openAI{}, epChat
	case strings.HasSuffix(p, "/v1/responses"):
		return openAI{}, epResponses
	}
	if r.Header.Get("anthropic-version") == "" && r.Header.Get("x-api-key") == "" &&
		strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		return openAI{}, epOther
	}
	return anthropic{}, epOther
}

// keyFingerprint identifies the API key of h (x-api-key, else an
// Authorization bearer token) without revealing it: the first 8 bytes of its
// SHA-256, hex-encoded; "" when h carries none.
func keyFingerprint(h http.Header) string {
	k := h.Get("x-api-key")
	if k == "" {
		k, _ = strings.CutPrefix(h.Get("Authorization"), "Bearer ")
	}
	if k == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(k))
	return hex.EncodeToString(sum[:8])
}
