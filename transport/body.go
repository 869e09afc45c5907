package transport

import (
	"io"
	"sync/atomic"
)

// endOnClose calls end once, at EOF, on a read error or on Close, whichever
// comes first.
type endOnClose struct {
	io.ReadCloser
	end  func()
	done atomic.Bool
}

func (b *endOnClose) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && b.done.CompareAndSwap(false, true) {
		b.end()
	}
	return n, err
}

func (b *endOnClose) Close() error {
	err := b.ReadCloser.Close()
	if b.done.CompareAndSwap(false, true) {
		b.end()
	}
	return err
}
