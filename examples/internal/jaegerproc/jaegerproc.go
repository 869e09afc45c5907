// Package jaegerproc starts a real Jaeger v2 process on loopback for sluice's
// end-to-end tests and demos, and reads traces back from its query API.
package jaegerproc

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/telemetry/otlp"
)

//go:embed config.yaml
var configYAML []byte

// ErrNoBinary reports that no Jaeger binary was found.
var ErrNoBinary = errors.New("jaegerproc: no Jaeger binary (run `make jaeger`, or set SLUICE_JAEGER_BIN)")

// Binary finds the Jaeger binary: $SLUICE_JAEGER_BIN, $JAEGER_BIN, or
// bin/jaeger at the repository root (found by walking up from the working
// directory).
func Binary() (string, error) {
	for _, env := range []string{"SLUICE_JAEGER_BIN", "JAEGER_BIN"} {
		if p := os.Getenv(env); p != "" {
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "bin", "jaeger")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNoBinary
		}
		dir = parent
	}
}

// Jaeger is a running Jaeger process.
type Jaeger struct {
	// OTLPEndpoint is the OTLP/HTTP base URL, e.g. http://127.0.0.1:24318.
	OTLPEndpoint string
	// QueryURL is the query API base URL, e.g. http://127.0.0.1:26686.
	QueryURL string
	// MetricsURL serves the metrics received over OTLP in Prometheus text
	// format.
	MetricsURL string

	cmd  *exec.Cmd
	dir  string
	done chan struct{}
	logs bytes.Buffer
}

// Start runs bin with an in-memory configuration on free loopback ports and
// waits until its query API answers.
func Start(ctx context.Context, bin string) (*Jaeger, error) {
	dir, err := os.MkdirTemp("", "sluice-jaeger-")
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, configYAML, 0o600); err != nil {
		return nil, err
	}
	ports, err := freePorts(5)
	if err != nil {
		return nil, err
	}
	j := &Jaeger{
		OTLPEndpoint: "http://127.0.0.1:" + strconv.Itoa(ports[0]),
		QueryURL:     "http://127.0.0.1:" + strconv.Itoa(ports[2]),
		MetricsURL:   "http://127.0.0.1:" + strconv.Itoa(ports[4]) + "/metrics",
		dir:          dir,
		done:         make(chan struct{}),
	}
	j.cmd = exec.Command(bin, "--config", cfg)
	j.cmd.Env = append(os.Environ(),
		"OTLP_HTTP_PORT="+strconv.Itoa(ports[0]),
		"OTLP_GRPC_PORT="+strconv.Itoa(ports[1]),
		"JQ_HTTP_PORT="+strconv.Itoa(ports[2]),
		"JQ_GRPC_PORT="+strconv.Itoa(ports[3]),
		"PROM_PORT="+strconv.Itoa(ports[4]),
	)
	j.cmd.Stdout = &j.logs
	j.cmd.Stderr = &j.logs
	j.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := j.cmd.Start(); err != nil {
		return nil, fmt.Errorf("jaegerproc: start %s: %w", bin, err)
	}
	go func() { _ = j.cmd.Wait(); close(j.done) }()
	if err := j.waitReady(ctx); err != nil {
		j.Stop()
		return nil, fmt.Errorf("%w\n%s", err, j.logs.String())
	}
	return j, nil
}

func (j *Jaeger) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := http.Get(j.QueryURL + "/api/services")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("jaegerproc: not ready: %w", ctx.Err())
		case <-j.done:
			return errors.New("jaegerproc: jaeger exited")
		case <-tick.C:
		}
	}
}

// Stop kills the process (its storage is in memory) and removes its files.
func (j *Jaeger) Stop() {
	if j.cmd.Process != nil {
		_ = syscall.Kill(-j.cmd.Process.Pid, syscall.SIGKILL)
		<-j.done
	}
	_ = os.RemoveAll(j.dir)
}

// Logs returns what the process printed.
func (j *Jaeger) Logs() string { return j.logs.String() }

func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Trace is a trace as Jaeger's query API (/api/traces) returns it.
type Trace struct {
	TraceID   string          `json:"traceID"`
	Spans     []Span          `json:"spans"`
	Processes map[string]Proc `json:"processes"`
}

// Proc is a Jaeger process (the resource of a span).
type Proc struct {
	ServiceName string `json:"serviceName"`
	Tags        []KV   `json:"tags"`
}

// Span is a Jaeger span.
type Span struct {
	TraceID       string `json:"traceID"`
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	References    []struct {
		RefType string `json:"refType"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	StartTime int64 `json:"startTime"` // µs since the epoch
	Duration  int64 `json:"duration"`  // µs
	Tags      []KV  `json:"tags"`
	Logs      []struct {
		Timestamp int64 `json:"timestamp"`
		Fields    []KV  `json:"fields"`
	} `json:"logs"`
}

// KV is a Jaeger tag.
type KV struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// Parent returns the span ID of s's parent, or "".
func (s Span) Parent() string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" {
			return r.SpanID
		}
	}
	return ""
}

// Tag returns the value of the tag key, or nil.
func (s Span) Tag(key string) any {
	for _, kv := range s.Tags {
		if kv.Key == key {
			return kv.Value
		}
	}
	return nil
}

// Traces returns up to limit traces of service.
func (j *Jaeger) Traces(ctx context.Context, service string, limit int) ([]Trace, error) {
	u := fmt.Sprintf("%s/api/traces?service=%s&limit=%d", j.QueryURL, service, limit)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jaegerproc: %s: %s", u, resp.Status)
	}
	var out struct {
		Data []Trace `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// StartDefault finds the binary (see Binary) and starts it.
func StartDefault(ctx context.Context) (*Jaeger, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	return Start(ctx, bin)
}

// Need skips tb when no Jaeger binary is found — or fails it when CI=true,
// so that CI never silently skips a test that needs Jaeger.
func Need(tb testing.TB) {
	tb.Helper()
	if _, err := Binary(); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatal(err)
		}
		tb.Skip(err)
	}
}

// Exporting starts Jaeger (StartDefault) and OTLP export of traces and
// metrics to it for service, through OTEL_EXPORTER_OTLP_ENDPOINT as an
// application would configure it. The providers are not made global; stop
// Jaeger after shutting them down.
func Exporting(ctx context.Context, service string, opts ...otlp.Option) (*Jaeger, *otlp.Providers, error) {
	j, err := StartDefault(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := os.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", j.OTLPEndpoint); err != nil {
		j.Stop()
		return nil, nil, err
	}
	p, err := otlp.Setup(ctx, append([]otlp.Option{otlp.WithServiceName(service), otlp.WithoutGlobal()}, opts...)...)
	if err != nil {
		j.Stop()
		return nil, nil, err
	}
	return j, p, nil
}
