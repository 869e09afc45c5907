// Package validutf8 repairs the names sluice copies out of request and
// response bodies (model names, error types) before they become span and
// metric attributes: OTLP carries attributes as protobuf strings, which
// must be valid UTF-8, or the whole export batch is rejected.
package validutf8

import (
	"strings"
	"unicode/utf8"
)

// String returns b as a string with each byte of an invalid UTF-8 sequence
// replaced by U+FFFD, as encoding/json decodes a JSON string. Both ends of
// a call are repaired the same way, so a request's model and the response's
// model compare equal when the bodies named the same bytes.
// (strings.ToValidUTF8 replaces a whole run of invalid bytes with one
// U+FFFD, which is not what a JSON decoder, the SDKs included, reads.)
func String(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + 8)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			sb.WriteRune(utf8.RuneError)
		} else {
			sb.Write(b[:size])
		}
		b = b[size:]
	}
	return sb.String()
}
