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
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"github.com/onair-live/onair/account"
	"github.com/onair-live/onair/clients/web"
	"github.com/onair-live/onair/economy/redpacket"
	"github.com/onair-live/onair/media/egress"
	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/room/hub"
	"github.com/onair-live/onair/room/natsbus"
	"github.com/onair-live/onair/sfu"
	"github.com/onair-live/onair/signaling"
	"github.com/onair-live/onair/store"
)

// App is one onair node: bus, media plane and HTTP edge.
type App struct {
	cfg   Config
	log   *slog.Logger
	bus   *bus
	db    *store.DB
	hot   hotState
	stage *stage
	hub   *hub.Hub
	money *money
	likes *room.Likes
	chat  *room.Chat
	// stopKicks ends this node's subscription to kicks.
	stopKicks func()
	words     *natsbus.Words
	wallet    walletEdge // recharges and withdrawals; its reconciler runs in Run
	sfu       *sfu.SFU
	egress    *egress.Supervisor // media jobs of live rooms; nil without ffmpeg
	edge      *signaling.Server
	ln        net.Listener
	// packets drops and grabs red packets; its sweeper runs from Run.
	packets *redpacket.Service
	// recordings of broadcasts for replay; its cleanup runs from Run; nil
	// without ffmpeg.
	recordings *recordings
	// snapshots keeps live rooms' snapshots for moderation review; it runs
	// from Run.
	snapshots *snapshotArchive
}

// New builds the node bottom-up; on error nothing is left running.
func New(cfg Config, log *slog.Logger) (a *App, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a = &App{cfg: cfg, log: log}
	// "return nil, err" sets a to nil before this runs: close what was built.
	built := a
	defer func() {
		if err != nil {
			built.close()
		}
	}()
	if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	ctx := context.Background()
	if a.db, err = openStore(ctx, cfg); err != nil {
		return nil, err
	}
	if a.hot, err = newHotState(ctx, cfg); err != nil {
		return nil, err
	}
	secret, err := loadSecret(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Secret == "" && (cfg.Redis != "" || strings.HasPrefix(cfg.DB, "postgres")) {
		log.Warn("shared state without --secret: each node signs sessions with its own secret.key, so a user moving between nodes is logged out; set the same --secret on every node")
	}
	accounts, err := account.New(a.db, a.hot, secret, cfg.Accounts)
	if err != nil {
		return nil, err
	}
	if a.bus, err = newBus(cfg, log); err != nil {
		return nil, err
	}
	a.stage = &stage{events: &room.Lifecycle{Bus: a.bus.conn, Log: log}, presence: a.hot, dir: a.hot, broadcasts: a.db,
		node: newNodeName(cfg), ttl: 15 * time.Second, every: cfg.PresenceInterval, log: log, live: map[string]*onAir{}}
	if a.sfu, err = sfu.New(cfg.SFU, log, a.stage); err != nil {
		return nil, err
	}
	media, err := a.newEgress(cfg, log)
	if err != nil {
		return nil, err
	}
	var shots liveSnapshots // none without ffmpeg
	if a.egress != nil {
		shots = nodeSnapshots{a.egress, a.sfu}
	}
	a.snapshots = newSnapshotArchive(cfg, shots, log)
	js, err := jetstream.New(a.bus.conn)
	if err != nil {
		return nil, err
	}
	a.hub = hub.New(cfg.Fanout)
	a.likes = &room.Likes{Bus: a.bus.conn, Limiter: a.hot}
	chat := &room.Chat{Bus: a.bus.conn, Limiter: a.hot, Config: cfg.Chat, Likes: a.likes, Restrictions: restrictions{a.db}, Rules: chatRules{a.db}}
	if a.words, err = natsbus.OpenWords(ctx, js); err != nil {
		return nil, err
	}
	a.chat = chat
	rev := review{db: a.db, chat: chat}
	chat.Review = rev
	if a.money, err = newMoney(ctx, cfg, a.db, a.bus.conn, js, log); err != nil {
		return nil, err
	}
	if err := a.money.startFeed(ctx, a.bus.conn, js); err != nil {
		return nil, err
	}
	econ := moneyEdge{m: a.money, db: a.db}
	if a.wallet, err = newWallet(cfg, a.db, a.money.ledger, log); err != nil {
		return nil, err
	}
	chat.Gifts = econ
	if a.packets, err = newRedPackets(a.db, a.money.ledger, log); err != nil {
		return nil, err
	}
	relay := natsbus.NewRelay(a.bus.conn, js, a.hub)
	dms := &room.DMs{Store: dmStore{a.db}, Bus: a.bus.conn, Limiter: a.hot, IsBlocked: func(err error) bool { return errors.Is(err, store.ErrBlocked) }}
	voiceMessages, err := newVoice(cfg, a.db, log, chat, dms)
	if err != nil {
		return nil, err
	}
	var recs signaling.Recordings // a nil *recordings is no Recordings
	if a.recordings != nil {
		recs = a.recordings
	}
	a.edge = signaling.New(cfg.Edge, signaling.Deps{
		Recordings:  recs,
		Snapshots:   a.snapshots,
		Messages:    messages{DB: a.db, dms: dms, relay: relay},
		Voice:       voiceMessages,
		Egress:      media,
		Words:       a.words,
		Moderation:  a.db,
		Review:      rev,
		Economy:     econ,
		Wallet:      a.wallet,
		RedPackets:  a.packets,
		Fanout:      a.hub,
		Kicker:      natsbus.NewKicks(a.bus.conn),
		Reports:     a.db,
		ReportLimit: a.hot,
		Interaction: interaction{chat: chat, relay: relay},
		Media:       a.sfu, Keys: newKeys(cfg, accounts), Pages: web.FS, Log: log,
		Accounts: accounts, Records: a.db, Viewers: a.hot, Directory: a.hot, Platform: a.db,
		Ready: func(ctx context.Context) error {
			if !a.bus.conn.IsConnected() {
				return errors.New("not connected to NATS")
			}
			return a.db.Ping(ctx)
		},
	})
	if a.stopKicks, err = natsbus.NewKicks(a.bus.conn).Listen(a.edge.Kick); err != nil {
		return nil, err
	}
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
	a.packets.Start() // stopped by close
	g.Go(func() error { return a.edge.Serve(a.ln) })
	g.Go(func() error { a.stage.renew(gctx, a.sfu); return nil })
	g.Go(func() error { a.purgeRevoked(gctx); return nil })
	g.Go(func() error { a.likes.Run(gctx); return nil })
	g.Go(func() error { a.wallet.Run(gctx); return nil })
	if a.recordings != nil {
		g.Go(func() error { a.recordings.run(gctx); return nil })
	}
	g.Go(func() error { a.snapshots.run(gctx); return nil })
	g.Go(func() error {
		// A lost watch keeps the last word list; it is no reason to stop serving.
		if err := a.words.Watch(gctx, a.chat.SetWords); err != nil {
			a.log.Error("word list updates stopped", "err", err)
		}
		return nil
	})
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
	if a.stopKicks != nil {
		a.stopKicks()
	}
	if a.egress != nil {
		a.egress.Close() // before the SFU: its jobs would restart on a closed tap
	}
	if a.sfu != nil {
		_ = a.sfu.Close()
	}
	if a.packets != nil {
		_ = a.packets.Close() // before the ledger it posts to
	}
	if a.money != nil {
		a.money.close() // the ledger commits what is queued; the relay publishes it
	}
	if a.hub != nil {
		a.hub.Close()
	}
	if a.bus != nil {
		a.bus.close()
	}
	if c, ok := a.hot.(io.Closer); ok {
		_ = c.Close()
	}
	if a.db != nil {
		_ = a.db.Close()
	}
}

// purgeRevoked drops revoked tokens that have expired anyway, hourly.
func (a *App) purgeRevoked(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := a.db.PurgeRevoked(ctx, time.Now()); err != nil && ctx.Err() == nil {
			a.log.Warn("purge revoked tokens", "err", err)
		} else if n > 0 {
			a.log.Debug("purged revoked tokens", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// DB exposes the system of record, for tests and operator tools.
func (a *App) DB() *store.DB { return a.db }

// Main is `onair`'s entry point: it parses the sub-command and runs it.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, args, getenv, stdout, stderr)
	case "admin":
		if len(args) > 0 && args[0] == "create-user" {
			return adminCreateUser(ctx, args[1:], getenv, stdout, stderr)
		}
		fmt.Fprintln(stderr, "usage: onair admin create-user --name N --role superadmin|admin|streamer|viewer [--password P]")
		return 2
	case "ledger":
		if len(args) > 0 && args[0] == "verify" {
			return ledgerVerify(ctx, args[1:], getenv, stdout, stderr)
		}
		fmt.Fprintln(stderr, "usage: onair ledger verify [--outbox-grace 1m]")
		return 2
	case "leaderboard":
		if len(args) > 0 && args[0] == "rebuild" {
			return leaderboardRebuild(ctx, args[1:], getenv, stdout, stderr)
		}
		fmt.Fprintln(stderr, "usage: onair leaderboard rebuild [--redis URL] [--db DSN]")
		return 2
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, "usage: onair serve [flags]   (onair serve -h lists the flags)\n       onair migrate [--db DSN]\n       onair admin create-user --name N --role superadmin|admin|streamer|viewer [--password P]\n       onair ledger verify [--outbox-grace 1m]\n       onair leaderboard rebuild [--redis URL]")
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
