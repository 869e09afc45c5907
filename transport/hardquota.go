package transport

import "net/http"

// HeaderHardQuota is the header the retry layer sets ("true") on a hard
// quota response it returns (see IsHardQuota), beside x-should-retry: false.
// It reaches the caller on the SDK's error: *anthropic.Error.Response and
// *openai.Error.Response.
const HeaderHardQuota = "Sluice-Hard-Quota"

// hardQuotaPeek bounds how much of a 429's body is read to look for a hard
// quota's error code (as the retry layer's peek).
const hardQuotaPeek = 16 << 10

// IsHardQuota reports whether resp is a hard quota: a 429 that waiting does
// not fix, so sluice neither retries it nor starts a cool-down for it, and
// every later call gets the same answer at once. That is a spend limit
// (Anthropic error.details.error_code enforced_spend_limit_reached or
// contract_spend_limit_reached), an exhausted quota (OpenAI
// insufficient_quota), a request too large ever to fit the tokens-per-minute
// limit (OpenAI "Request too large…"), or a 429 the server marked
// x-should-retry: false.
//
// Pass it the response the SDK's error carries:
//
//	var ae *anthropic.Error
//	if errors.As(err, &ae) && transport.IsHardQuota(ae.Response) { … }
//
// (*openai.Error alike). The SDK has read that response's body by then, so
// IsHardQuota relies on HeaderHardQuota, which sluice's retry layer sets; on
// a response whose body is still unread (no retry layer above, a plain
// http.Client) it reads a bounded prefix of the body for the error code and
// puts it back. Without the retry layer, x-should-retry: false alone is not
// taken as a hard quota, since sluice sets that header on every response it
// gives up on.
func IsHardQuota(resp *http.Response) bool {
	if resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		return false
	}
	if resp.Header.Get(HeaderHardQuota) == "true" {
		return true
	}
	return resp.Body != nil && resp.Body != http.NoBody && isHardLimit(peekBody(resp, hardQuotaPeek, nil))
}

// hardQuota reports whether resp, as the server sent it, is a hard quota:
// IsHardQuota, or a 429 with the server's x-should-retry: false. The
// cool-down rule (cooldownUntil) calls it so that such a response starts no
// cool-down: the key would otherwise be frozen for the server's Retry-After
// only to meet the same refusal.
func hardQuota(resp *http.Response) bool {
	if resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		return false
	}
	return resp.Header.Get(headerShouldRetry) == "false" || IsHardQuota(resp)
}
