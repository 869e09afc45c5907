// Command sluice runs sluice's layers — limiter, retries, circuit breaker,
// metering, telemetry — as a local HTTP proxy, for agents written in any
// language:
//
//	sluice proxy                    # listens on 127.0.0.1:8788
//	ANTHROPIC_BASE_URL=http://127.0.0.1:8788 python agent.py
//	OPENAI_BASE_URL=http://127.0.0.1:8788/v1 node agent.js
//
// Every flag has an environment variable SLUICE_<FLAG> (--redis is
// SLUICE_REDIS); `sluice proxy -h` lists them. docs/proxy.md describes the
// routes, the error mapping and the deployment forms.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/sluicehq/sluice/cmd/sluice/internal/proxy"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sluice:", err)
		os.Exit(2)
	}
}

const usage = `usage: sluice proxy [flags]

Commands:
  proxy   serve the Anthropic and OpenAI APIs through sluice's layers
`

func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "proxy" {
		fmt.Fprint(stderr, usage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			return flag.ErrHelp
		}
		return errors.New("unknown or missing command")
	}
	c := proxy.Defaults()
	fs := flag.NewFlagSet("sluice proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.Register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sluice proxy [flags]\n\nEach flag can also be set as SLUICE_<FLAG> (--max-queue: SLUICE_MAX_QUEUE); a flag wins.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if err := proxy.LoadEnv(fs, getenv); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	return proxy.Run(ctx, c, proxy.NewLogger(c, stderr))
}
