package main

import (
	"context"
	"os"
	"testing"

	"github.com/sluicehq/sluice/examples/internal/jaegerproc"
)

// The demo runs end to end against a real Jaeger process; run fails when
// what it expects never arrives.
func TestDemo(t *testing.T) {
	if _, err := jaegerproc.Binary(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	if err := run(context.Background()); err != nil {
		t.Fatal(err)
	}
}
