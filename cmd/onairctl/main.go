// Command onairctl is onair's client tool: it publishes over WHIP, watches
// over WHEP and chats over the room WebSocket, for trying a server out and for
// load.
//
//	onairctl publish --url http://127.0.0.1:8080 --room demo --key K [--video file.ivf|file.h264|synthetic|none] [--audio file.ogg|synthetic|none]
//	onairctl watch --url http://127.0.0.1:8080 --room demo [--viewers N] [--slots 1] [--duration 30s] [--json]
//	onairctl chat [--url URL] [--token T] [--after ID] [--json] ROOM
//	onairctl bench [--url URL] [--room bench] [--key K] [--viewers 10] [--duration 30s] [--ramp 0s] [--bitrate 2000000] [--simulcast] [--server-pid PID] [--allow-remote] [--json]
//	onairctl bench chat [--url URL] [--room bench] [--conns 1000] [--rate 100] [--duration 20s] [--users FILE] [--metrics URL/metrics] [--json]
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
