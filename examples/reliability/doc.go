// Package reliability is sluice's reliability and security suite run
// against the real anthropic-sdk-go v2 and openai-go v3 clients: a seeded
// chaos run of thousands of calls, a scan of every exported span, metric
// and log record for secrets, and the shutdown contract of
// transport.Transport. It has no API of its own; `make test` runs it with
// the race detector.
package reliability
