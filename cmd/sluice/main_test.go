package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestRunRefusesBadInvocations(t *testing.T) {
	env := func(string) string { return "" }
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "unknown or missing command"},
		{[]string{"serve"}, "unknown or missing command"},
		{[]string{"proxy", "extra"}, "unexpected arguments"},
		{[]string{"proxy", "--log-format", "xml"}, "log-format"},
		{[]string{"proxy", "--no-such-flag"}, "no-such-flag"},
	} {
		var out bytes.Buffer
		err := run(context.Background(), tc.args, env, &out)
		if err == nil || !strings.Contains(err.Error()+out.String(), tc.want) {
			t.Errorf("%q: %v", tc.args, err)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"proxy", "-h"}, env, &out); !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "SLUICE_") {
		t.Errorf("-h: %v\n%s", err, out.String())
	}
	bad := func(k string) string {
		if k == "SLUICE_TIMEOUT" {
			return "soon"
		}
		return ""
	}
	if err := run(context.Background(), []string{"proxy"}, bad, &out); err == nil || !strings.Contains(err.Error(), "SLUICE_TIMEOUT") {
		t.Errorf("bad env: %v", err)
	}
}

// TestMain lets the test binary run as the command itself (for
// TestSIGTERMLetsAStreamFinish), so no separate build is needed.
func TestMain(m *testing.M) {
	if os.Getenv("SLUICE_TEST_RUN_MAIN") == "1" {
		os.Args = append([]string{"sluice"}, strings.Fields(os.Getenv("SLUICE_TEST_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The command, sent SIGTERM while a stream is in flight, stops accepting,
// lets the stream run to its end, and exits 0.
func TestSIGTERMLetsAStreamFinish(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "event: message_start\ndata: {}\n\n")
		w.(http.Flusher).Flush()
		<-release
		_, _ = io.WriteString(w, "event: message_stop\ndata: {}\n\n")
	}))
	defer up.Close()
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	defer unblock() // a failed test must not leave the upstream handler blocked
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "SLUICE_TEST_RUN_MAIN=1",
		"SLUICE_TEST_ARGS=proxy --listen 127.0.0.1:0 --log-format json --anthropic-upstream "+up.URL)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }() // no-op once it has exited
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	addr := ""
	for addr == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the command exited before listening")
			}
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(l), &rec) == nil && rec.Msg == "sluice proxy listening" {
				addr = rec.Addr
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatal("no listening line within 30 s")
		}
	}
	resp, err := http.Post("http://"+addr+"/v1/messages", "application/json", strings.NewReader(`{"model":"m","stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if first, err := br.ReadString('\n'); err != nil || !strings.Contains(first, "message_start") {
		t.Fatalf("first line %q, %v", first, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var sawDrain bool
	for !sawDrain {
		l, ok := <-lines
		if !ok {
			t.Fatal("the command exited with the stream in flight")
		}
		sawDrain = strings.Contains(l, "shutting down")
	}
	unblock()
	rest, err := io.ReadAll(br)
	if err != nil || !strings.Contains(string(rest), "message_stop") {
		t.Fatalf("stream cut by shutdown: %q, %v", rest, err)
	}
	var sawStop bool
	for l := range lines {
		sawStop = sawStop || strings.Contains(l, "sluice proxy stopped")
	}
	if err := cmd.Wait(); err != nil || !sawStop {
		t.Fatalf("exit: %v, stopped logged: %v", err, sawStop)
	}
}
