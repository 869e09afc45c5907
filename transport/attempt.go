package transport

import (
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Attempt returns the innermost layer: an otelhttp transport that makes one
// CLIENT span per physical HTTP attempt, named for the method ("POST"), as
// current HTTP semantic conventions ask. Each repeated attempt (the retry
// layer puts its number in the request context) gets
// http.request.resend_count, which otelhttp does not set itself.
//
// Spans and otelhttp's metrics go to the providers given with
// WithTelemetry. An attempt span ends when its response body is read to
// EOF or closed, so callers must close bodies (the retry layer closes every
// body it discards). A nil next means http.DefaultTransport. With both
// providers explicitly no-op (telemetry.Providers.Disabled) there is nothing
// to record, and Attempt returns next itself.
func Attempt(next http.RoundTripper, opts ...LayerOption) http.RoundTripper {
	return newAttempt(next, newConfig(opts))
}

// newAttempt is the attempt layer over next, for Attempt and New.
func newAttempt(next http.RoundTripper, c *config) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	if c.tel.Disabled() {
		return next
	}
	return otelhttp.NewTransport(resendCount{next},
		otelhttp.WithTracerProvider(c.tel.TracerProvider),
		otelhttp.WithMeterProvider(c.tel.MeterProvider),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }),
	)
}

// resendCount sits just beneath otelhttp, where the request context holds
// the attempt span, and stamps http.request.resend_count on it. It also
// hands net/http a small body from memory again (coalesce).
type resendCount struct{ next http.RoundTripper }

func (r resendCount) RoundTrip(req *http.Request) (*http.Response, error) {
	if n := attemptFrom(req.Context()); n > 0 {
		trace.SpanFromContext(req.Context()).SetAttributes(semconv.HTTPRequestResendCount(n))
	}
	req, err := coalesce(req)
	if err != nil {
		return nil, err
	}
	return r.next.RoundTrip(req)
}
