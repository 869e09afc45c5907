// Package redistest starts a real redis-server process on a free loopback
// port for tests, as net/http/httptest starts an HTTP server: Start in a
// test, use Addr, and the server is stopped when the test ends. Kill,
// Restart, Pause and Resume let a test take Redis away mid-run.
//
// When redis-server is not installed, Start skips the test — unless the
// environment variable CI is "true", where a missing binary fails it: CI
// must not pass by skipping.
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Binary is the redis-server looked up on PATH, then at /usr/bin.
const Binary = "redis-server"

// Server is a redis-server process listening on 127.0.0.1. Its data lives
// in memory only (no RDB or AOF files) and disappears with it.
type Server struct {
	port int
	bin  string

	mu     sync.Mutex // guards proc and exited
	proc   *os.Process
	exited chan error // receives the process's end
}

// ErrNotInstalled is returned by Run when no redis-server can be found.
var ErrNotInstalled = errors.New("redistest: redis-server not installed")

// Start starts a redis-server for tb and stops it in tb's Cleanup. See the
// package comment for what happens when redis-server is missing.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := Run()
	if errors.Is(err, ErrNotInstalled) && os.Getenv("CI") != "true" {
		tb.Skip("redis-server not installed; set CI=true to fail instead")
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Run starts a redis-server outside a test (an example or a demo); the
// caller must Close it.
func Run() (*Server, error) {
	bin, err := exec.LookPath(Binary)
	if err != nil {
		if _, serr := os.Stat("/usr/bin/" + Binary); serr != nil {
			return nil, ErrNotInstalled
		}
		bin = "/usr/bin/" + Binary
	}
	var last error
	for range 5 { // another process may take the free port first
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s := &Server{port: port, bin: bin}
		if last = s.start(); last == nil {
			return s, nil
		}
	}
	return nil, last
}

// Addr returns the server's "127.0.0.1:port".
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Close stops the server; it is safe to call more than once.
func (s *Server) Close() { s.Kill() }

// Kill stops the server at once (SIGKILL), as a crash would, and waits for
// the process to end. Restart brings it back on the same port, empty.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return
	}
	_ = s.proc.Signal(syscall.SIGCONT) // let a paused server die at once
	_ = s.proc.Kill()
	<-s.exited
	s.proc, s.exited = nil, nil
}

// Restart starts a killed server again on the same port, with no data.
func (s *Server) Restart() error {
	s.Kill()
	var err error
	for range 50 { // the old socket may linger for a moment
		if err = s.start(); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// Pause stops the process (SIGSTOP): connections stay open and nothing
// answers, as with a hung or overloaded server. Resume continues it.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig os.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		_ = s.proc.Signal(sig)
	}
}

func (s *Server) start() error {
	cmd := exec.Command(s.bin, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--protected-mode", "no", "--loglevel", "warning")
	cmd.Dir = os.TempDir()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("redistest: start %s: %w", s.bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if ping(s.Addr()) == nil {
			s.mu.Lock()
			s.proc, s.exited = cmd.Process, exited
			s.mu.Unlock()
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("redistest: redis-server on port %d exited: %v", s.port, err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	_ = cmd.Process.Kill()
	<-exited
	return fmt.Errorf("redistest: redis-server on port %d did not answer PING within 5s", s.port)
}

func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("redistest: PING answered %q", line)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
