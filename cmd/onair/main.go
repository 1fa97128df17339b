// Command onair runs the onair live server: `onair serve` starts everything.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/onair-live/onair/cmd/onair/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
