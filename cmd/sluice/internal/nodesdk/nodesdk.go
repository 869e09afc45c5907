// Package nodesdk drives the official TypeScript SDKs (@anthropic-ai/sdk
// and openai) from Go, for the proxy's end-to-end tests and its demo: it
// installs them with npm into a temporary directory beside sdk.mjs and
// runs that script with node.
package nodesdk

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Packages are the SDK versions installed, pinned.
var Packages = []string{"@anthropic-ai/sdk@1.10.0", "openai@7.55.0"}

//go:embed sdk.mjs
var script []byte

// ErrNoNode reports that node or npm is not installed.
var ErrNoNode = errors.New("nodesdk: node or npm not installed")

// Available reports whether node and npm are on PATH.
func Available() bool {
	for _, bin := range []string{"node", "npm"} {
		if _, err := exec.LookPath(bin); err != nil {
			return false
		}
	}
	return true
}

// Install installs Packages into a new temporary directory beside sdk.mjs
// and returns it; the caller removes it. npm's own cache makes a second
// install fast.
func Install(ctx context.Context) (string, error) {
	if !Available() {
		return "", ErrNoNode
	}
	dir, err := os.MkdirTemp("", "sluice-node-sdks-")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"private":true,"type":"module"}`), 0o644); err != nil {
		return dir, err
	}
	if err := os.WriteFile(filepath.Join(dir, "sdk.mjs"), script, 0o644); err != nil {
		return dir, err
	}
	cmd := exec.CommandContext(ctx, "npm", append([]string{"install", "--no-audit", "--no-fund", "--loglevel=error"}, Packages...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return dir, fmt.Errorf("npm install %v: %w\n%s", Packages, err, out)
	}
	return dir, nil
}

// Result is what sdk.mjs prints.
type Result struct {
	OK, Failed int
	Errors     []Error // the first ten
	Last       *Error  // the last, nil if none
}

// Error is an error as the TypeScript SDK raised it.
type Error struct {
	Class       string // the SDK's error class, e.g. RateLimitError
	APIError    bool   // an instance of the SDK's APIError
	Status      int
	Refusal     string // the Sluice-Refusal header
	ShouldRetry string // the x-should-retry header
	Message     string
}

// Run runs `node sdk.mjs MODE SDK` from dir (made by Install) against the
// proxy at baseURL, with env added to the environment (see sdk.mjs for the
// modes and variables).
func Run(ctx context.Context, dir, baseURL, mode, sdk string, env ...string) (Result, error) {
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "sdk.mjs"), mode, sdk)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"PROXY_URL=" + baseURL}, env...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return Result{}, fmt.Errorf("node sdk.mjs %s %s: %w\n%s", mode, sdk, err, stderr.String())
	}
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	var r Result
	if err := json.Unmarshal(lines[len(lines)-1], &r); err != nil {
		return r, fmt.Errorf("node output %q: %w", out, err)
	}
	return r, nil
}
