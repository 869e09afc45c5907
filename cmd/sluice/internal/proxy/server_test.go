package proxy

import (
	"flag"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/llmtest"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// /healthz and /readyz answer; /metrics shows the stack's GenAI metrics in
// Prometheus's format after a call, with no API key in any label.
func TestHealthReadyMetrics(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Config{})
	defer srv.Close()
	p := startProxy(t, testConfig(srv.URL))
	if code, _ := get(t, p.URL+"/healthz"); code != 200 {
		t.Errorf("healthz %d", code)
	}
	if code, _ := get(t, p.URL+"/readyz"); code != 200 {
		t.Errorf("readyz %d", code)
	}
	post(t, p.URL+"/v1/messages", `{"model":"claude-test","max_tokens":16,"messages":[{"role":"user","content":"`+prompt+`"}]}`, anthropicHeaders)
	code, m := get(t, p.URL+"/metrics")
	if code != 200 || !strings.Contains(m, "gen_ai_client_token_usage") || !strings.Contains(m, "gen_ai_client_operation_duration") {
		t.Fatalf("metrics %d:\n%s", code, m)
	}
	if strings.Contains(m, anthropicKey) || strings.Contains(m, "secret recipe") {
		t.Errorf("metrics carry the key or the prompt")
	}
}

// On shutdown (SIGTERM) the proxy stops accepting, a stream in flight runs
// to its end, and Serve returns cleanly.
func TestGracefulShutdownLetsStreamsFinish(t *testing.T) {
	release := make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "event: message_start\ndata: {}\n\n")
		w.(http.Flusher).Flush()
		<-release
		_, _ = io.WriteString(w, "event: message_stop\ndata: {}\n\n")
	})
	p := startProxy(t, testConfig(up))
	resp := stream(t, p.URL+"/v1/messages", anthropicHeaders)
	defer resp.Body.Close()
	readEvent(t, resp.Body, 10*time.Second)

	shut := make(chan error, 1)
	go func() { shut <- p.Shutdown() }()
	addr := strings.TrimPrefix(p.URL, "http://")
	waitFor(t, "the listener to close", 10*time.Second, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case err := <-shut:
		t.Fatalf("Serve returned with a stream in flight: %v", err)
	default:
	}
	close(release)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || !strings.Contains(string(rest), "message_stop") {
		t.Fatalf("stream cut by shutdown: %q, %v", rest, err)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

// A flag wins over its SLUICE_ variable, which wins over the default.
func TestFlagsAndEnvironment(t *testing.T) {
	c := Defaults()
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	c.Register(fs)
	if err := fs.Parse([]string{"--max-queue", "7"}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SLUICE_MAX_QUEUE": "9", "SLUICE_REDIS": "127.0.0.1:6380", "SLUICE_FAIL_FAST": "true", "SLUICE_WINDOW": "2s"}
	if err := LoadEnv(fs, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.MaxQueue != 7 || c.Redis != "127.0.0.1:6380" || !c.FailFast || c.Window != 2*time.Second || c.Listen != "127.0.0.1:8788" {
		t.Fatalf("%+v", c)
	}
	bad := map[string]string{"SLUICE_CONCURRENCY": "lots"}
	if err := LoadEnv(fs, func(k string) string { return bad[k] }); err == nil || !strings.Contains(err.Error(), "SLUICE_CONCURRENCY") {
		t.Fatalf("bad value: %v", err)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
	}{
		{"upstream", func(c *Config) { c.AnthropicUpstream = "api.anthropic.com" }},
		{"log format", func(c *Config) { c.LogFormat = "xml" }},
		{"log level", func(c *Config) { c.LogLevel = "loud" }},
		{"timeout", func(c *Config) { c.Timeout = 0 }},
		{"replicas", func(c *Config) { c.Replicas = 0 }},
		{"negative", func(c *Config) { c.MaxQueue = -1 }},
	} {
		c := Defaults()
		tc.edit(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	c := Defaults()
	if err := c.Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}
