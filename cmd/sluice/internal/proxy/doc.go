// Package proxy is `sluice proxy`: sluice's stack (transport.New) behind an
// httputil.ReverseProxy, so that an agent in any language gets the
// limiter, retries, breaker, metering and telemetry by pointing its SDK's
// base URL at it.
//
// A call flows: Server (health, readiness, metrics) → Handler (route,
// 413 above MaxBody, the body buffered for replay, the caller's trace
// context, the call's deadline from x-stainless-timeout) → ReverseProxy →
// the sluice stack → the provider. The provider's answer comes back as it
// came, flushed event by event, with x-should-retry: false on an error the
// stack gave up on; an error the stack returns without a response becomes a
// response in the provider's error shape (errors.go, docs/proxy.md).
//
// stack.go is the only file that speaks transport's and limiter's options:
// Config in, a *transport.Transport out.
package proxy
