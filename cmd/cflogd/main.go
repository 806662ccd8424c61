// Command cflogd classifies the journal of centra-cloud services against the
// runbook's signatures: `cflogd scan` reports over a window, `cflogd check`
// validates pattern files, `cflogd explain` shows how one line classifies.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := newApp(os.Stdin, os.Stdout, os.Stderr).main(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
