package llmtest

import (
	"context"
	"net"
	"sync"
)

// pipeListener is a net.Listener of in-memory connections (net.Pipe), for
// tests in a testing/synctest bubble: a goroutine blocked on a socket is
// not durably blocked, so over loopback the bubble's clock would never
// advance. It is real net/http on both ends; only the wire is a pipe.
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
