package proxy

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain removes the TypeScript SDKs the tests installed and fails the
// package if a test leaves a goroutine running. Idle keep-alive
// connections are not leaks.
func TestMain(m *testing.M) {
	code := m.Run()
	removeNodeSDKs()
	if code == 0 {
		if err := goleak.Find(
			goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
			goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
			goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
