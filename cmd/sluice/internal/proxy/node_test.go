package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The TypeScript SDKs the end-to-end tests drive, pinned.
var nodePackages = []string{"@anthropic-ai/sdk@1.10.0", "openai@7.55.0"}

var node struct {
	once sync.Once
	dir  string
	err  error
}

// nodeSDKs installs the TypeScript SDKs with npm into a temporary directory
// once per test run, beside testdata/node's scripts, and returns that
// directory. Without node and npm the test is skipped — unless CI is
// "true", where it fails: CI must not pass by skipping.
func nodeSDKs(t *testing.T) string {
	t.Helper()
	for _, bin := range []string{"node", "npm"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not installed (CI=true: .ci/run installs nodejs and npm)", bin)
			}
			t.Skipf("%s not installed; set CI=true to fail instead", bin)
		}
	}
	node.once.Do(func() { node.dir, node.err = installNodeSDKs() })
	if node.err != nil {
		t.Fatal(node.err)
	}
	return node.dir
}

func installNodeSDKs() (string, error) {
	dir, err := os.MkdirTemp("", "sluice-node-sdks-")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"private":true,"type":"module"}`), 0o644); err != nil {
		return dir, err
	}
	scripts, _ := filepath.Glob("testdata/node/*.mjs")
	for _, s := range scripts {
		b, err := os.ReadFile(s)
		if err != nil {
			return dir, err
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(s)), b, 0o644); err != nil {
			return dir, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", append([]string{"install", "--no-audit", "--no-fund", "--loglevel=error"}, nodePackages...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return dir, &installError{out: string(out), err: err}
	}
	return dir, nil
}

type installError struct {
	out string
	err error
}

func (e *installError) Error() string { return "npm install: " + e.err.Error() + "\n" + e.out }

func removeNodeSDKs() {
	if node.dir != "" {
		_ = os.RemoveAll(node.dir)
	}
}

// nodeResult is what sdk.mjs prints.
type nodeResult struct {
	OK, Failed int
	Errors     []nodeError
}

// nodeError is an error as the TypeScript SDK raised it.
type nodeError struct {
	Class       string
	APIError    bool
	Status      int
	Refusal     string
	ShouldRetry string
	Message     string
}

// runNode runs sdk.mjs MODE SDK against the proxy at proxyURL with env.
func runNode(t *testing.T, proxyURL, mode, sdk string, env ...string) nodeResult {
	t.Helper()
	r, err := execNode(nodeSDKs(t), proxyURL, mode, sdk, env...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// execNode is runNode for any goroutine: call nodeSDKs first, on the
// test's goroutine, for dir.
func execNode(dir, proxyURL, mode, sdk string, env ...string) (nodeResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "sdk.mjs"), mode, sdk)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"PROXY_URL=" + proxyURL}, env...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nodeResult{}, fmt.Errorf("node sdk.mjs %s %s: %v\n%s", mode, sdk, err, stderr.String())
	}
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	var r nodeResult
	if err := json.Unmarshal(lines[len(lines)-1], &r); err != nil {
		return r, fmt.Errorf("node output %q: %v", out, err)
	}
	return r, nil
}
