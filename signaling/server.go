package signaling

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/sfu"
	"github.com/onair-live/onair/store"
)

// Config tunes the edge. Zero values mean the defaults.
type Config struct {
	// NegotiateTimeout bounds the work of answering one offer (ICE gathering).
	NegotiateTimeout time.Duration `yaml:"negotiate_timeout"`
}

// MediaPlane is Media plus what the API and metrics read from it.
type MediaPlane interface {
	Media
	Rooms() []sfu.RoomInfo
	Stats() sfu.Stats
}

// Deps are the parts the edge calls.
type Deps struct {
	Media MediaPlane
	Keys  KeyChecker
	// Accounts, Records and Viewers serve the REST API; without them only the
	// media endpoints, pages and /api/rooms answer.
	Accounts  Accounts
	Records   Records
	Viewers   Viewers
	Directory Directory
	Platform  Platform
	// Interaction serves room messages over WebSocket.
	Interaction Interaction
	// Words is the platform word list admins edit.
	Words WordList
	// Moderation keeps room moderators, bans and the audit log.
	Moderation Moderation
	// Kicker spreads kicks to every node (each node's Server.Kick closes them).
	Kicker Kicker
	// Messages serves private messages.
	Messages Messages
	// Voice, when set, takes voice-message uploads and serves the clips.
	Voice Voice
	// Egress, when set, serves HLS (/hls/{room}/index.m3u8), snapshots and
	// restream targets.
	Egress Egress
	// Recordings, when set, lists, serves and deletes recorded broadcasts.
	Recordings Recordings
	// Snapshots, when set, serves the live rooms' snapshots kept for
	// moderation review (the admins' live wall).
	Snapshots SnapshotArchive
	// Review is the queue of held chat messages.
	Review Review
	// RedPackets drops and grabs red packets in rooms.
	RedPackets RedPackets
	// Fanout, when set, adds the chat fan-out's totals to /metrics.
	Fanout Fanout
	// Economy serves gifts, wallets, the economy's terms and leaderboards.
	Economy Economy
	// Wallet serves recharges, payment callbacks and withdrawals.
	Wallet Wallet
	// Reports is the report queue; ReportLimit keeps a user from flooding it.
	Reports     Reports
	ReportLimit ReportLimiter
	Pages       fs.FS // studio.html, watch.html and static/
	Log         *slog.Logger
	// Ready reports readiness for /healthz; nil means always ready.
	Ready func(context.Context) error
}

// Server is the HTTP edge.
type Server struct {
	e         *echo.Echo
	log       *slog.Logger
	http      *http.Server
	media     MediaPlane
	accounts  Accounts
	records   Records
	viewers   Viewers
	directory Directory
	platform  Platform

	interaction Interaction
	words       WordList
	moderation  Moderation
	kicker      Kicker
	local       *sessions
	reports     Reports
	reportLimit ReportLimiter
	messages    Messages
	review      Review
	economy     Economy
}

// Kicker asks every node to close a user's sessions in a room.
type Kicker interface {
	Kick(id room.ID, userID string) error
}

// New builds the routes.
func New(cfg Config, d Deps) *Server {
	if cfg.NegotiateTimeout == 0 {
		cfg.NegotiateTimeout = 10 * time.Second
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// The client address (rate limits, dev mode) is the peer's, never a header a
	// client can forge; a deployment behind a proxy sets its own extractor.
	e.IPExtractor = echo.ExtractIPDirect()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		if !c.Response().Committed {
			_ = writeProblem(c, err)
		}
	}
	e.Use(middleware.Recover())
	s := &Server{e: e, log: d.Log.With("component", "http"), media: d.Media, accounts: d.Accounts, records: d.Records, viewers: d.Viewers, directory: d.Directory, platform: d.Platform, interaction: d.Interaction, words: d.Words, moderation: d.Moderation, kicker: d.Kicker, review: d.Review, economy: d.Economy, local: &sessions{},
		reports: d.Reports, reportLimit: d.ReportLimit, messages: d.Messages}
	e.Use(s.accessLog)

	for _, r := range []*resource{
		{prefix: "/whip", role: sfu.RolePublisher, media: d.Media, keys: d.Keys, negotiateTimeout: cfg.NegotiateTimeout, accounts: d.Accounts, interaction: d.Interaction},
		{prefix: "/whep", role: sfu.RoleSubscriber, media: d.Media, keys: d.Keys, negotiateTimeout: cfg.NegotiateTimeout, records: d.Records, accounts: d.Accounts, interaction: d.Interaction,
			local: s.local, banned: s.bannedFrom},
	} {
		r.routes(e)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(newMediaCollector(d.Media), prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	if d.Fanout != nil {
		reg.MustRegister(newFanoutCollector(d.Fanout))
	}
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	e.GET("/healthz", func(c echo.Context) error {
		if d.Ready != nil {
			if err := d.Ready(c.Request().Context()); err != nil {
				s.log.Warn("not ready", "err", err)
				return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
			}
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	// Cookie-authenticated state changes only from this origin (Sec-Fetch-Site /
	// Origin checks); WHIP/WHEP stay cross-origin by design (RFC 9725 CORS).
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"title":"Cross-site request","status":403,"detail":"this request came from another site; use onair's own pages"}`))
	}))
	api := e.Group("/api", echo.WrapMiddleware(csrf.Handler), s.authenticate)
	api.GET("/rooms", s.liveRooms)
	api.GET("/openapi.json", func(c echo.Context) error { return c.Blob(http.StatusOK, "application/json", openAPI) })
	if d.Accounts != nil && d.Records != nil {
		api.POST("/auth/signup", s.signup)
		api.POST("/auth/login", s.login)
		api.POST("/auth/logout", s.logout, require(store.RoleViewer))
		api.GET("/me", s.me, require(store.RoleViewer))
		api.POST("/me/stream-key", s.rotateKey, require(store.RoleStreamer))
		api.GET("/rooms/:room", s.getRoom)
		api.PATCH("/rooms/:room", s.patchRoom, require(store.RoleViewer))
		api.POST("/users/:name/follow", s.follow, require(store.RoleViewer))
		api.DELETE("/users/:name/follow", s.follow, require(store.RoleViewer))
		api.GET("/users/:name/followers", s.followList(false))
		api.GET("/users/:name/following", s.followList(true))
	}
	if d.Platform != nil {
		admin := api.Group("/admin", require(store.RoleAdmin))
		admin.GET("/settings", s.getSettings)
		admin.PUT("/settings", s.putSettings)
		admin.POST("/users/:name/ban", s.ban)
		admin.DELETE("/users/:name/ban", s.ban)
		s.liveWallRoutes(admin, d.Egress, d.Snapshots)
		if d.Words != nil {
			admin.GET("/words", s.getWords)
			admin.PUT("/words", s.putWords)
		}
	}
	if d.Interaction != nil {
		e.GET("/ws/rooms/:room", s.roomSocket)
		api.GET("/rooms/:room/messages", s.roomMessages)
		if d.Records != nil {
			api.DELETE("/rooms/:room/messages/:id", s.deleteMessage, require(store.RoleViewer))
		}
	}
	if d.Moderation != nil && d.Records != nil {
		api.POST("/rooms/:room/moderators/:name", s.setModerator, require(store.RoleViewer))
		api.DELETE("/rooms/:room/moderators/:name", s.setModerator, require(store.RoleViewer))
		api.POST("/rooms/:room/bans", s.roomBan, require(store.RoleViewer))
		api.DELETE("/rooms/:room/bans/:name", s.roomUnban, require(store.RoleViewer))
		api.POST("/rooms/:room/kick/:name", s.roomKick, require(store.RoleViewer))
		if d.Review != nil {
			api.GET("/rooms/:room/held", s.heldList, require(store.RoleViewer))
			api.POST("/rooms/:room/held/:id", s.heldDecide, require(store.RoleViewer))
		}
		api.GET("/admin/audit", s.auditLog, require(store.RoleAdmin))
	}
	if d.Messages != nil && d.Accounts != nil && d.Records != nil {
		e.GET("/ws/me", s.userSocket)
		api.GET("/dm", s.conversations, require(store.RoleViewer))
		api.GET("/dm/:name", s.dmHistory, require(store.RoleViewer))
		api.POST("/dm/:name", s.sendDM, require(store.RoleViewer))
		api.POST("/dm/:name/read", s.markRead, require(store.RoleViewer))
		api.POST("/users/:name/block", s.block, require(store.RoleViewer))
		api.DELETE("/users/:name/block", s.block, require(store.RoleViewer))
	}
	if d.Economy != nil && d.Records != nil && d.Moderation != nil {
		s.economyRoutes(api)
	}
	s.voiceRoutes(api, d.Voice)
	s.egressRoutes(e, api, d.Egress)
	s.recordingRoutes(e, api, d.Recordings)
	s.redPacketRoutes(api, d.RedPackets)
	s.walletRoutes(e, api, d.Wallet)
	if d.Reports != nil {
		api.POST("/reports", s.report, require(store.RoleViewer))
		api.GET("/admin/reports", s.listReports, require(store.RoleAdmin))
		api.POST("/admin/reports/:id/resolve", s.resolveReport, require(store.RoleAdmin))
	}
	if d.Pages != nil {
		pages(e, d.Pages)
	}
	return s
}

func pages(e *echo.Echo, files fs.FS) {
	html := func(name string, roomPage bool) echo.HandlerFunc {
		return func(c echo.Context) error {
			if roomPage {
				if _, err := room.ParseID(c.Param("room")); err != nil {
					return writeProblem(c, err)
				}
			}
			b, err := fs.ReadFile(files, name)
			if err != nil {
				return echo.ErrNotFound
			}
			c.Response().Header().Set("Cache-Control", "no-cache")
			return c.HTMLBlob(http.StatusOK, b)
		}
	}
	e.GET("/", html("lobby.html", false))
	e.GET("/login", html("login.html", false))
	e.GET("/messages", html("messages.html", false))
	e.GET("/wallet", html("wallet.html", false))
	e.GET("/earnings", html("earnings.html", false))
	e.GET("/studio/:room", html("studio.html", true))
	e.GET("/watch/:room", html("watch.html", true))
	e.GET("/replay/:id", html("replay.html", false))
	e.GET("/admin/live", html("admin-live.html", false))
	if static, err := fs.Sub(files, "static"); err == nil {
		e.StaticFS("/static", static)
	}
}

func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		s.log.Debug("request", "method", c.Request().Method, "path", c.Request().URL.Path,
			"status", c.Response().Status, "ms", time.Since(start).Milliseconds())
		return err
	}
}

// Handler exposes the routes, for tests that use httptest.
func (s *Server) Handler() http.Handler { return s.e }

// Serve answers on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.http = &http.Server{Handler: s.e, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Shutdown stops accepting and waits for requests in flight.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.http == nil {
		return nil
	}
	return s.http.Shutdown(ctx)
}
