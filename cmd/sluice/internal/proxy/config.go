package proxy

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// MaxBody is the largest request body the proxy forwards: the providers'
// own limit for a Messages or Chat Completions request (Anthropic 32 MB,
// 2026 docs). A larger body is refused with 413 before anything is sent.
const MaxBody = 32 << 20

// Config is everything `sluice proxy` can be told. Each field is a flag
// (Register) and an environment variable SLUICE_<FLAG> (LoadEnv), and its
// zero value is the documented default unless Defaults says otherwise.
type Config struct {
	// Listen is the address to serve on. Default 127.0.0.1:8788: loopback,
	// so that a sidecar is not reachable from the network by accident.
	Listen string
	// AnthropicUpstream and OpenAIUpstream are the base URLs the routes
	// are forwarded to: the request's path (/v1/...) is appended to them.
	AnthropicUpstream, OpenAIUpstream string
	// Timeout is a call's deadline when the client sends no
	// x-stainless-timeout header. Default 10 minutes (the SDKs' default).
	Timeout time.Duration
	// ShutdownGrace is how long in-flight calls and streams may take to
	// finish after SIGTERM. Default 30 s.
	ShutdownGrace time.Duration

	// Redis is the address (host:port, or a redis:// URL) of a Redis that
	// the proxies of a fleet share their limits and breaker verdicts
	// through; empty keeps them in memory.
	Redis string
	// Replicas is how many proxies share the quota: each takes 1/Replicas
	// of a limit while Redis is unreachable. Default 1.
	Replicas int

	// Requests, InputTokens, OutputTokens and Tokens are explicit limits
	// per Window for every API key and model; 0 learns them from the
	// provider's headers.
	Requests, InputTokens, OutputTokens, Tokens int64
	// Window is the period the limits count over. Default one minute (the
	// providers'); tests compress it.
	Window time.Duration
	// Concurrency caps the calls in flight per API key and model; 0 is no
	// cap. MaxQueue bounds the calls waiting per key; 0 is unbounded.
	Concurrency, MaxQueue int
	// MaxAttempts bounds the attempts per call (first included); 0 is the
	// library's default.
	MaxAttempts int
	// BackoffMin and BackoffMax are the retry backoff's first step and cap
	// when the server names no delay; 0 is the library's default.
	BackoffMin, BackoffMax time.Duration
	// FailFast refuses calls at once while a breaker is open, instead of
	// letting them wait for the probe within their deadline.
	FailFast bool

	// LogFormat is "text" (default) or "json"; LogLevel is "debug",
	// "info" (default), "warn" or "error".
	LogFormat, LogLevel string
	// Metrics serves Prometheus metrics at /metrics. Default on.
	Metrics bool
	// OTLP exports spans and metrics over OTLP/HTTP, configured by the
	// standard OTEL_* variables. Default on when OTEL_EXPORTER_OTLP_ENDPOINT
	// (or its _TRACES_ or _METRICS_ variant) is set.
	OTLP bool
}

// Defaults returns the configuration of `sluice proxy` with no flags.
func Defaults() Config {
	return Config{
		Listen:            "127.0.0.1:8788",
		AnthropicUpstream: "https://api.anthropic.com",
		OpenAIUpstream:    "https://api.openai.com",
		Timeout:           10 * time.Minute,
		ShutdownGrace:     30 * time.Second,
		Replicas:          1,
		LogFormat:         "text",
		LogLevel:          "info",
		Metrics:           true,
		OTLP:              otlpConfigured(os.Getenv),
	}
}

func otlpConfigured(getenv func(string) string) bool {
	for _, v := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"} {
		if getenv(v) != "" {
			return true
		}
	}
	return false
}

// Register defines c's flags on fs, with c's values as their defaults.
func (c *Config) Register(fs *flag.FlagSet) {
	fs.StringVar(&c.Listen, "listen", c.Listen, "address to serve on")
	fs.StringVar(&c.AnthropicUpstream, "anthropic-upstream", c.AnthropicUpstream, "base URL /v1/messages and /v1/messages/count_tokens go to")
	fs.StringVar(&c.OpenAIUpstream, "openai-upstream", c.OpenAIUpstream, "base URL /v1/chat/completions and /v1/responses go to")
	fs.DurationVar(&c.Timeout, "timeout", c.Timeout, "a call's deadline when the client sends no x-stainless-timeout")
	fs.DurationVar(&c.ShutdownGrace, "shutdown-grace", c.ShutdownGrace, "time in-flight calls may take to finish after SIGTERM")
	fs.StringVar(&c.Redis, "redis", c.Redis, "Redis address or redis:// URL to share limits with other proxies (empty: in memory)")
	fs.IntVar(&c.Replicas, "replicas", c.Replicas, "proxies sharing the quota (each takes 1/replicas while Redis is down)")
	fs.Int64Var(&c.Requests, "requests", c.Requests, "requests per window per API key and model (0: learn from headers)")
	fs.Int64Var(&c.InputTokens, "input-tokens", c.InputTokens, "input tokens per window (0: learn from headers)")
	fs.Int64Var(&c.OutputTokens, "output-tokens", c.OutputTokens, "output tokens per window (0: learn from headers)")
	fs.Int64Var(&c.Tokens, "tokens", c.Tokens, "OpenAI tokens per window (0: learn from headers)")
	fs.DurationVar(&c.Window, "window", c.Window, "period the limits count over (0: one minute)")
	fs.IntVar(&c.Concurrency, "concurrency", c.Concurrency, "calls in flight per API key and model (0: no cap)")
	fs.IntVar(&c.MaxQueue, "max-queue", c.MaxQueue, "calls waiting per API key and model (0: unbounded)")
	fs.IntVar(&c.MaxAttempts, "max-attempts", c.MaxAttempts, "attempts per call, first included (0: sluice's default, 8)")
	fs.DurationVar(&c.BackoffMin, "backoff-min", c.BackoffMin, "first backoff step when the server names no delay (0: 500ms)")
	fs.DurationVar(&c.BackoffMax, "backoff-max", c.BackoffMax, "largest backoff step (0: 4s)")
	fs.BoolVar(&c.FailFast, "fail-fast", c.FailFast, "refuse calls at once while a breaker is open")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "text or json")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	fs.BoolVar(&c.Metrics, "metrics", c.Metrics, "serve Prometheus metrics at /metrics")
	fs.BoolVar(&c.OTLP, "otlp", c.OTLP, "export spans and metrics over OTLP (OTEL_* variables)")
}

// EnvName is the environment variable of a flag: SLUICE_ and the flag's
// name in capitals with '-' as '_' (listen → SLUICE_LISTEN).
func EnvName(flagName string) string {
	return "SLUICE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// LoadEnv sets every flag of fs that is not on the command line from its
// environment variable (EnvName), so a flag wins over the environment,
// which wins over the default. Call it after fs.Parse.
func LoadEnv(fs *flag.FlagSet, getenv func(string) string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		v := getenv(EnvName(f.Name))
		if set[f.Name] || v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w", EnvName(f.Name), v, err))
		}
	})
	return errors.Join(errs...)
}

// Validate reports the first setting that cannot work.
func (c *Config) Validate() error {
	for _, u := range []struct{ name, v string }{{"anthropic-upstream", c.AnthropicUpstream}, {"openai-upstream", c.OpenAIUpstream}} {
		p, err := url.Parse(u.v)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("--%s %q: want an http(s) base URL", u.name, u.v)
		}
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("--log-format %q: want text or json", c.LogFormat)
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return err
	}
	if c.Timeout <= 0 {
		return fmt.Errorf("--timeout %v: want a positive duration", c.Timeout)
	}
	if c.Replicas < 1 {
		return fmt.Errorf("--replicas %d: want at least 1", c.Replicas)
	}
	if c.Requests < 0 || c.InputTokens < 0 || c.OutputTokens < 0 || c.Tokens < 0 ||
		c.Concurrency < 0 || c.MaxQueue < 0 || c.MaxAttempts < 0 || c.Window < 0 ||
		c.BackoffMin < 0 || c.BackoffMax < 0 || c.ShutdownGrace < 0 {
		return errors.New("limits, attempts, durations: want zero or positive values")
	}
	return nil
}
