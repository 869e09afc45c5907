package proxy

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/cmd/sluice/internal/nodesdk"
)

var node struct {
	once sync.Once
	dir  string
	err  error
}

// nodeSDKs installs the TypeScript SDKs once per test run and returns
// their directory. Without node and npm the test is skipped — unless CI is
// "true", where it fails: CI must not pass by skipping.
func nodeSDKs(t *testing.T) string {
	t.Helper()
	if !nodesdk.Available() {
		if os.Getenv("CI") == "true" {
			t.Fatal("node or npm not installed (CI=true: .ci/run installs nodejs and npm)")
		}
		t.Skip("node or npm not installed; set CI=true to fail instead")
	}
	node.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		node.dir, node.err = nodesdk.Install(ctx)
	})
	if node.err != nil {
		t.Fatal(node.err)
	}
	return node.dir
}

func removeNodeSDKs() {
	if node.dir != "" {
		_ = os.RemoveAll(node.dir)
	}
}

// runNode runs sdk.mjs MODE SDK against the proxy at proxyURL with env.
func runNode(t *testing.T, proxyURL, mode, sdk string, env ...string) nodesdk.Result {
	t.Helper()
	r, err := execNode(nodeSDKs(t), proxyURL, mode, sdk, env...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// execNode is runNode for any goroutine: call nodeSDKs first, on the
// test's goroutine, for dir.
func execNode(dir, proxyURL, mode, sdk string, env ...string) (nodesdk.Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return nodesdk.Run(ctx, dir, proxyURL, mode, sdk, env...)
}
