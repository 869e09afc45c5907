// Package otelglobal tells whether OpenTelemetry's global tracer provider
// still has no SDK behind it.
//
// Until an application installs an SDK (otel.SetTracerProvider), the
// global provider hands out tracers whose spans record nothing; once it
// does, the same tracers delegate to the SDK. A layer built on the global
// provider cannot know at construction which it will be, but it can ask
// on each call, for the price of an atomic load, and skip building span
// attributes nobody will read.
package otelglobal

import (
	"reflect"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
)

// IsDefault reports whether tp is the global provider OpenTelemetry hands
// out before an SDK is installed. It looks at the provider's type, which
// is unexported (go.opentelemetry.io/otel/internal/global): should a later
// OpenTelemetry rename it, IsDefault returns false and callers lose only
// an optimisation (TestIsDefault notices).
func IsDefault(tp trace.TracerProvider) bool {
	t := reflect.TypeOf(tp)
	return t != nil && t.Kind() == reflect.Pointer &&
		t.Elem().Name() == "tracerProvider" && t.Elem().PkgPath() == "go.opentelemetry.io/otel/internal/global"
}

// Unset reports whether tp, which IsDefault, still has no SDK behind it:
// its spans record nothing.
func Unset(tp trace.TracerProvider) bool {
	return otel.GetTracerProvider() == tp
}
