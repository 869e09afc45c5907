package transport

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"
)

// pipeServer serves a handler over in-memory connections (net.Pipe), for
// tests in a testing/synctest bubble: a goroutine blocked on a socket is
// not durably blocked, so over loopback the bubble's clock would never
// advance. It is real net/http on both ends, only the wire is a pipe.
// Make it inside the bubble; the test's cleanup closes it.
type pipeServer struct {
	URL string
	ln  *pipeListener
	srv *http.Server
}

func newPipeServer(t *testing.T, h http.Handler) *pipeServer {
	t.Helper()
	s := &pipeServer{URL: "http://api.test", ln: newPipeListener(), srv: &http.Server{Handler: h}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.srv.Serve(s.ln)
	}()
	t.Cleanup(func() { s.Close(); <-done })
	return s
}

// Transport returns a new client transport whose connections reach s,
// whatever the host; the test's cleanup closes its idle connections.
func (s *pipeServer) Transport(t *testing.T) *http.Transport {
	t.Helper()
	tr := &http.Transport{DialContext: s.ln.dial}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// Client returns an http.Client over a new Transport.
func (s *pipeServer) Client(t *testing.T) *http.Client {
	t.Helper()
	return &http.Client{Transport: s.Transport(t)}
}

// Close stops accepting connections and closes every open one: later
// dials fail as if the connection were refused.
func (s *pipeServer) Close() { _ = s.srv.Close() }

// pipeListener is a net.Listener whose connections are made by its dial.
type pipeListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.closed:
		client.Close()
		return nil, &net.OpError{Op: "dial", Net: "pipe", Err: errPipeRefused}
	case <-ctx.Done():
		client.Close()
		return nil, ctx.Err()
	}
}

var errPipeRefused = &net.AddrError{Err: "connection refused", Addr: "pipe"}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }
