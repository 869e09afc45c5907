// Package pipenet is a network of in-memory connections (net.Pipe) for
// tests in a testing/synctest bubble: a goroutine blocked on a socket is not
// durably blocked, so over loopback the bubble's clock would never advance.
// A server Serves a Listener and a client dials it with Listener.Dial as its
// http.Transport's DialContext: real net/http on both ends, only the wire
// is a pipe.
package pipenet

import (
	"context"
	"net"
	"sync"
)

// Listener is a net.Listener whose connections are made by its Dial.
type Listener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

// NewListener returns a Listener that accepts until it is closed.
func NewListener() *Listener {
	return &Listener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

// Accept waits for the next Dial and returns its server side.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

// Close stops accepting: later dials fail as if the connection were
// refused.
func (l *Listener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

// Addr returns the listener's address, "pipe".
func (l *Listener) Addr() net.Addr { return addr{} }

// Dial connects to l, whatever the address; its signature is that of
// http.Transport.DialContext.
func (l *Listener) Dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.closed:
		client.Close()
		return nil, &net.OpError{Op: "dial", Net: "pipe", Err: ErrRefused}
	case <-ctx.Done():
		client.Close()
		return nil, ctx.Err()
	}
}

// ErrRefused is the cause of a dial to a closed Listener.
var ErrRefused = &net.AddrError{Err: "connection refused", Addr: "pipe"}

type addr struct{}

func (addr) Network() string { return "pipe" }
func (addr) String() string  { return "pipe" }
