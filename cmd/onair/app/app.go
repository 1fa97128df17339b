package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/onair-live/onair/clients/web"
	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/sfu"
	"github.com/onair-live/onair/signaling"
)

// App is one onair node: bus, media plane and HTTP edge.
type App struct {
	cfg  Config
	log  *slog.Logger
	bus  *bus
	sfu  *sfu.SFU
	edge *signaling.Server
	ln   net.Listener
}

// New builds the node bottom-up; on error nothing is left running.
func New(cfg Config, log *slog.Logger) (a *App, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a = &App{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	if a.bus, err = newBus(cfg, log); err != nil {
		return nil, err
	}
	events := &room.Lifecycle{Bus: a.bus.conn, Log: log}
	if a.sfu, err = sfu.New(cfg.SFU, log, events); err != nil {
		return nil, err
	}
	a.edge = signaling.New(cfg.Edge, signaling.Deps{
		Media: a.sfu, Keys: newKeys(cfg), Pages: web.FS, Log: log,
		Ready: func(context.Context) error {
			if !a.bus.conn.IsConnected() {
				return errors.New("not connected to NATS")
			}
			return nil
		},
	})
	if a.ln, err = net.Listen("tcp", cfg.HTTP); err != nil {
		return nil, fmt.Errorf("http: %w", err)
	}
	return a, nil
}

// Addr is the HTTP address the node listens on.
func (a *App) Addr() net.Addr { return a.ln.Addr() }

// SFU exposes the media plane, for tests and benchmarks.
func (a *App) SFU() *sfu.SFU { return a.sfu }

// Run serves until ctx ends, then shuts down in reverse order of construction.
func (a *App) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.edge.Serve(a.ln) })
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
		defer cancel()
		err := a.edge.Shutdown(sctx)
		a.close()
		return err
	})
	return g.Wait()
}

func (a *App) close() {
	if a.ln != nil {
		_ = a.ln.Close()
	}
	if a.sfu != nil {
		_ = a.sfu.Close()
	}
	if a.bus != nil {
		a.bus.close()
	}
}

// Main is `onair`'s entry point: it parses the sub-command and runs it.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, "usage: onair serve [flags]   (onair serve -h lists the flags)")
		return 0
	default:
		fmt.Fprintf(stderr, "onair: unknown command %q (try: onair serve -h)\n", cmd)
		return 2
	}
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := Load(args, getenv, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "onair:", err)
		return 2
	}
	log := newLogger(cfg.Log, os.Stderr)
	a, err := New(cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, "onair:", err)
		return 1
	}
	base := "http://" + displayAddr(a.Addr())
	fmt.Fprintf(stdout, "onair is live on %s\n  studio: %s/studio/demo\n  watch:  %s/watch/demo\n  WHIP:   %s/whip/demo   WHEP: %s/whep/demo\n", base, base, base, base, base)
	if cfg.Dev {
		fmt.Fprintln(stdout, "  dev mode: anyone on this machine may publish with any stream key")
	}
	start := time.Now()
	if err := a.Run(ctx); err != nil {
		log.Error("stopped", "err", err)
		return 1
	}
	log.Info("stopped", "uptime", time.Since(start).Round(time.Second))
	return 0
}

func displayAddr(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
