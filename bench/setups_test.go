package bench

import (
	"net/http"
	"time"

	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/failsafehttp"
	"github.com/failsafe-go/failsafe-go/ratelimiter"
	"github.com/hashicorp/go-retryablehttp"
)

// retryableHTTP is go-retryablehttp v0.7.8 configured for the job: its
// defaults (4 retries, exponential backoff from 1 s to 30 s, Retry-After
// honoured on 429/503), logging off, over base. It is a RoundTripper, so it
// sits wherever sluice would.
func retryableHTTP(base http.RoundTripper) http.RoundTripper {
	c := retryablehttp.NewClient()
	c.HTTPClient = &http.Client{Transport: base}
	c.Logger = nil
	// Hand the last response back when retries run out, as sluice and the
	// SDK do, instead of retryablehttp's "giving up" error without it.
	c.ErrorHandler = retryablehttp.PassthroughErrorHandler
	return &retryablehttp.RoundTripper{Client: c}
}

// failsafeHTTP is failsafe-go v0.9.8's failsafehttp with the three policies
// that do sluice's job, outermost first: retry (4 retries, Retry-After, 0.5 s
// to 8 s backoff with jitter), circuit breaker (opens after 5 consecutive 5xx
// or transport errors, probes after 2 s) and a smooth rate limiter of rps
// requests per second that waits up to a minute for a permit. Unlike sluice
// it needs the request rate up front; it cannot limit tokens.
func failsafeHTTP(base http.RoundTripper, rps uint) http.RoundTripper {
	retry := failsafehttp.NewRetryPolicyBuilder().
		WithMaxRetries(4).
		WithBackoff(500*time.Millisecond, 8*time.Second).
		WithJitterFactor(0.25).
		Build()
	breaker := circuitbreaker.NewBuilder[*http.Response]().
		HandleIf(func(r *http.Response, err error) bool {
			return err != nil || (r != nil && r.StatusCode >= 500)
		}).
		WithFailureThreshold(5).
		WithDelay(2 * time.Second).
		Build()
	limiter := ratelimiter.NewSmoothBuilder[*http.Response](rps, time.Second).
		WithMaxWaitTime(time.Minute).
		Build()
	return failsafehttp.NewRoundTripper(base, retry, breaker, limiter)
}

// unlimitedRPS is the failsafe limiter rate of the overhead benchmarks:
// high enough never to wait, so it measures the limiter's bookkeeping only.
const unlimitedRPS = 1_000_000
