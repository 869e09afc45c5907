package transport

import (
	"net/http"
	"testing"

	"github.com/sluicehq/sluice/internal/pipenet"
)

// pipeServer serves a handler over in-memory connections (net.Pipe), for
// tests in a testing/synctest bubble: a goroutine blocked on a socket is
// not durably blocked, so over loopback the bubble's clock would never
// advance. It is real net/http on both ends, only the wire is a pipe.
// Make it inside the bubble; the test's cleanup closes it.
type pipeServer struct {
	URL string
	ln  *pipenet.Listener
	srv *http.Server
}

func newPipeServer(t *testing.T, h http.Handler) *pipeServer {
	t.Helper()
	s := &pipeServer{URL: "http://api.test", ln: pipenet.NewListener(), srv: &http.Server{Handler: h}}
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
	tr := &http.Transport{DialContext: s.ln.Dial}
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
