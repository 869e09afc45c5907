// Package provider recognises which LLM API a request is for and how to
// name it. It is the one place that knows the providers' paths and
// authentication headers.
package provider

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
)

// Kind is an LLM API provider.
type Kind uint8

// Providers sluice knows.
const (
	Unknown Kind = iota
	Anthropic
	OpenAI
)

// String returns the gen_ai.provider.name value of k.
func (k Kind) String() string {
	switch k {
	case Anthropic:
		return "anthropic"
	case OpenAI:
		return "openai"
	}
	return "unknown"
}

// API is the endpoint family of a request.
type API uint8

// Endpoint families.
const (
	APIOther           API = iota
	APIMessages            // Anthropic POST /v1/messages
	APICountTokens         // Anthropic POST /v1/messages/count_tokens
	APIChatCompletions     // OpenAI POST /v1/chat/completions
	APIResponses           // OpenAI POST /v1/responses
)

// Operation returns the gen_ai.operation.name of a.
func (a API) Operation() string {
	switch a {
	case APIMessages, APIChatCompletions, APIResponses:
		return "chat"
	case APICountTokens:
		return "count_tokens"
	}
	return "other"
}

// Detect tells the provider and endpoint of r from its path, falling back to
// the authentication headers for the provider.
func Detect(r *http.Request) (Kind, API) {
	p := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case strings.HasSuffix(p, "/messages/count_tokens"):
		return Anthropic, APICountTokens
	case strings.HasSuffix(p, "/messages"):
		return Anthropic, APIMessages
	case strings.HasSuffix(p, "/chat/completions"):
		return OpenAI, APIChatCompletions
	case strings.HasSuffix(p, "/responses"):
		return OpenAI, APIResponses
	}
	if r.Header.Get("anthropic-version") != "" || r.Header.Get("x-api-key") != "" {
		return Anthropic, APIOther
	}
	if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		return OpenAI, APIOther
	}
	return Unknown, APIOther
}

// KeyFingerprint returns a short, stable, non-reversible fingerprint of the
// API key r carries (x-api-key, or an Authorization bearer token), or "" when
// it carries none. The key itself is never stored: only the first 8 bytes of
// its SHA-256, hex-encoded.
func KeyFingerprint(h http.Header) string {
	k := APIKey(h)
	if k == "" {
		return ""
	}
	return Fingerprint(k)
}

// Canonical header names, so that reading them does not canonicalise (and
// allocate) on every request.
const (
	headerAPIKey        = "X-Api-Key"
	headerAuthorization = "Authorization"
)

// APIKey returns the API key h carries — x-api-key, or an Authorization
// bearer token — or "". Callers must not store or record it.
func APIKey(h http.Header) string {
	if k := get(h, headerAPIKey); k != "" {
		return k
	}
	auth := get(h, headerAuthorization)
	if k, ok := strings.CutPrefix(auth, "Bearer "); ok {
		return k
	}
	return "" // not a bearer token
}

// Fingerprint returns the fingerprint of the API key k (see KeyFingerprint).
func Fingerprint(k string) string {
	sum := sha256.Sum256([]byte(k))
	return hex.EncodeToString(sum[:8])
}
