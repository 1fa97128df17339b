package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/onair-live/onair/account"
	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/room/memstore"
	"github.com/onair-live/onair/room/redisstore"
	"github.com/onair-live/onair/signaling"
	"github.com/onair-live/onair/store"
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

func newLogger(cfg LogConfig, w *os.File) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(cfg.Level)))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openStore opens the system of record (SQLite in the data folder unless a DSN is
// given) and applies its migrations.
func openStore(ctx context.Context, cfg Config) (*store.DB, error) {
	dsn := cfg.DB
	if dsn == "" {
		if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
			return nil, fmt.Errorf("data folder: %w", err)
		}
		dsn = "sqlite://" + filepath.Join(cfg.Data, "onair.db")
	}
	db, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// hotState is presence, directory and limiter from one backend.
type hotState interface {
	room.Presence
	room.Directory
	room.Limiter
}

func newHotState(ctx context.Context, cfg Config) (hotState, error) {
	if cfg.Redis == "" {
		return memstore.New(), nil
	}
	return redisstore.New(ctx, cfg.Redis)
}

// loadSecret returns the token secret from the configuration, or from
// secret.key in the data folder, creating it (0600) on first start.
func loadSecret(cfg Config) ([]byte, error) {
	if cfg.Secret != "" {
		return []byte(cfg.Secret), nil
	}
	path := filepath.Join(cfg.Data, "secret.key")
	if b, err := os.ReadFile(path); err == nil && len(b) >= 32 {
		return b, nil
	}
	b := make([]byte, 48)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("token secret: %w", err)
	}
	return b, nil
}

// openAccounts is the store and an account service for operator commands.
func openAccounts(ctx context.Context, cfg Config) (*store.DB, *account.Service, error) {
	db, err := openStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	secret, err := loadSecret(cfg)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	svc, err := account.New(db, nil, secret, cfg.Accounts)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, svc, nil
}

// keyChain tries each checker in turn and returns the first identity; the last
// refusal is the answer.
type keyChain []signaling.KeyChecker

func (k keyChain) PublishIdentity(ctx context.Context, room, key string, ip net.IP) (string, error) {
	var err error
	for _, c := range k {
		var id string
		if id, err = c.PublishIdentity(ctx, room, key, ip); err == nil {
			return id, nil
		}
	}
	return "", err
}

// newKeys picks how WHIP stream keys are checked: configured keys, then the room
// owner's stream key; in dev mode anything from loopback.
func newKeys(cfg Config, accounts *account.Service) signaling.KeyChecker {
	var chain keyChain
	if len(cfg.StreamKeys) > 0 {
		chain = append(chain, signaling.StaticKeys(cfg.StreamKeys))
	}
	chain = append(chain, accounts)
	if cfg.Dev {
		return signaling.DevKeys{Next: chain}
	}
	return chain
}

func newNodeName(cfg Config) string {
	if cfg.Node != "" {
		return cfg.Node
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%x", host, b)
}
