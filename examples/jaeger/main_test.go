package main

import (
	"context"
	"testing"

	"github.com/sluicehq/sluice/examples/internal/jaegerproc"
)

// The demo runs end to end against a real Jaeger process; run fails when
// what it expects never arrives.
func TestDemo(t *testing.T) {
	jaegerproc.Need(t)
	if err := run(context.Background()); err != nil {
		t.Fatal(err)
	}
}
