package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/onair-live/onair/signaling"
)

// bus is the NATS connection and, when no URL was given, the server embedded in
// this process.
type bus struct {
	conn     *nats.Conn
	embedded *server.Server
}

// newBus connects to the configured NATS cluster or starts an embedded server with
// JetStream in the data folder; either way the code above it is the same.
func newBus(cfg Config, log *slog.Logger) (*bus, error) {
	b := &bus{}
	opts := []nats.Option{nats.Name("onair"), nats.MaxReconnects(-1)}
	if cfg.NATS == "" {
		ns, err := server.NewServer(&server.Options{
			ServerName: "onair-embedded", DontListen: true, JetStream: true,
			StoreDir: filepath.Join(cfg.Data, "nats"), NoSigs: true, NoLog: true,
		})
		if err != nil {
			return nil, fmt.Errorf("embedded nats: %w", err)
		}
		ns.Start()
		if !ns.ReadyForConnections(10 * time.Second) {
			ns.Shutdown()
			return nil, fmt.Errorf("embedded nats: not ready after 10 s")
		}
		b.embedded = ns
		opts = append(opts, nats.InProcessServer(ns))
	}
	nc, err := nats.Connect(cfg.NATS, opts...)
	if err != nil {
		b.close()
		return nil, fmt.Errorf("nats %s: %w", cfg.NATS, err)
	}
	b.conn = nc
	if err := ensureStreams(nc); err != nil {
		b.close()
		return nil, err
	}
	log.Info("bus ready", "nats", natsLabel(cfg.NATS))
	return b, nil
}

func natsLabel(url string) string {
	if url == "" {
		return "embedded"
	}
	return url
}

// ensureStreams declares the JetStream stream that keeps each room's recent
// messages (system events now, chat history later).
func ensureStreams(nc *nats.Conn) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: "ROOMS", Subjects: []string{"onair.room.>"},
		MaxMsgsPerSubject: 50, MaxAge: 24 * time.Hour, Storage: jetstream.FileStorage,
		Discard: jetstream.DiscardOld,
	})
	if err != nil {
		return fmt.Errorf("jetstream stream ROOMS: %w", err)
	}
	return nil
}

func (b *bus) close() {
	if b.conn != nil {
		_ = b.conn.Drain()
		b.conn.Close()
	}
	if b.embedded != nil {
		b.embedded.Shutdown()
		b.embedded.WaitForShutdown()
	}
}

// newKeys picks how WHIP stream keys are checked.
func newKeys(cfg Config) signaling.KeyChecker {
	static := signaling.StaticKeys(cfg.StreamKeys)
	if cfg.Dev {
		return signaling.DevKeys{Next: static}
	}
	return static
}

func newLogger(cfg LogConfig, w *os.File) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(cfg.Level)))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
