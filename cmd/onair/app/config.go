package app

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/onair-live/onair/account"
	"github.com/onair-live/onair/media/egress"
	"github.com/onair-live/onair/media/ffmpeg"
	"github.com/onair-live/onair/media/voice"
	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/room/hub"
	"github.com/onair-live/onair/sfu"
	"github.com/onair-live/onair/signaling"
)

// Config is everything `onair serve` can be told. It loads in layers: defaults,
// then the YAML file (--config), then ONAIR_* environment variables, then flags.
type Config struct {
	HTTP string `yaml:"http"`
	Data string `yaml:"data"`
	// NATS is the bus URL list; empty runs an embedded server in the data folder.
	NATS string `yaml:"nats"`
	// DB is the system of record: empty for an SQLite file in the data folder, or
	// postgres://... for PostgreSQL.
	DB string `yaml:"db"`
	// Redis holds hot shared state (presence, live directory, rate limits); empty
	// keeps it in this process.
	Redis string `yaml:"redis"`
	// Node names this node in the shared state; empty picks a random name.
	Node string `yaml:"node"`
	// Secret signs session tokens; every node of a cluster needs the same one.
	// Empty uses (and on first start creates) secret.key in the data folder.
	Secret string `yaml:"secret"`
	// Dev lets anyone on loopback publish with any key.
	Dev bool `yaml:"dev"`
	// StreamKeys maps a publisher's name to the stream key they present.
	StreamKeys map[string]string `yaml:"stream_keys"`
	Log        LogConfig         `yaml:"log"`
	Accounts   account.Config    `yaml:"accounts"`
	Chat       room.ChatConfig   `yaml:"chat"`
	// Voice limits voice messages; Media names ffmpeg and ffprobe.
	Voice voice.Config  `yaml:"voice"`
	Media ffmpeg.Config `yaml:"media"`
	// Egress runs HLS, snapshots and restreams of live rooms through ffmpeg,
	// and keeps snapshots for moderation review.
	Egress EgressConfig `yaml:"egress"`
	// Fanout tunes each session's outbound queue: batching and slow consumers.
	Fanout hub.Config       `yaml:"fanout"`
	SFU    sfu.Config       `yaml:"sfu"`
	Edge   signaling.Config `yaml:"edge"`
	// Economy tunes the ledger, the leaderboards and gift combos.
	Economy EconomyConfig `yaml:"economy"`
	// Payments configures recharges' payment providers and the wallet.
	Payments PaymentsConfig `yaml:"payments"`
	// PresenceInterval is how often a node renews its shared state and tells its
	// rooms their viewer count.
	PresenceInterval time.Duration `yaml:"presence_interval"`
	// ShutdownTimeout bounds a graceful stop.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// LogConfig picks the log level and format.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text, json
}

// DefaultConfig is what `onair serve` runs with when told nothing.
func DefaultConfig() Config {
	return Config{
		HTTP:             ":8080",
		Data:             "./data",
		Log:              LogConfig{Level: "info", Format: "text"},
		SFU:              sfu.DefaultConfig(),
		Egress:           DefaultEgressConfig(),
		ShutdownTimeout:  10 * time.Second,
		PresenceInterval: 5 * time.Second,
	}
}

// EgressConfig is the egress section: media/egress's settings, and what this
// node does with their snapshots besides serving the latest one.
type EgressConfig struct {
	egress.Config `yaml:",inline"`
	// SnapshotKeepEvery is how often the latest snapshot of each room live on
	// this node is copied to <data>/snapshots/<room>/<unix-ms>.jpg (only
	// when it changed), for moderation review. 0 turns archiving off, which
	// is why an unset value is not the default here: DefaultEgressConfig
	// sets 1m.
	SnapshotKeepEvery time.Duration `yaml:"snapshot_keep_every"`
	// SnapshotRetention is how long archived snapshots are kept. Default
	// 168h (7 days).
	SnapshotRetention time.Duration `yaml:"snapshot_retention"`
}

// DefaultEgressConfig is the egress section when told nothing.
func DefaultEgressConfig() EgressConfig {
	return EgressConfig{Config: egress.DefaultConfig(), SnapshotKeepEvery: time.Minute, SnapshotRetention: 7 * 24 * time.Hour}
}

// Validate reports the first egress setting that cannot work.
func (c EgressConfig) Validate() error {
	if err := c.Config.Validate(); err != nil {
		return err
	}
	if c.SnapshotKeepEvery != 0 && (c.SnapshotKeepEvery < time.Second || c.SnapshotKeepEvery > 24*time.Hour) {
		return errors.New("egress.snapshot_keep_every: 1s to 24h, or 0 to keep no snapshots")
	}
	if c.SnapshotRetention != 0 && c.SnapshotRetention < time.Hour {
		return errors.New("egress.snapshot_retention: at least 1h")
	}
	return nil
}

// setting is one configuration key reachable as a flag and an environment variable.
type setting struct {
	flag, usage string
	apply       func(c *Config, v string) error
	isBool      bool
}

func settings() []setting {
	str := func(dst func(*Config) *string) func(*Config, string) error {
		return func(c *Config, v string) error { *dst(c) = v; return nil }
	}
	return []setting{
		{flag: "http", usage: "HTTP listen address", apply: str(func(c *Config) *string { return &c.HTTP })},
		{flag: "data", usage: "data folder (embedded NATS, files)", apply: str(func(c *Config) *string { return &c.Data })},
		{flag: "nats", usage: "NATS URLs, comma separated (empty: embedded server)", apply: str(func(c *Config) *string { return &c.NATS })},
		{flag: "db", usage: "postgres://... for PostgreSQL (empty: SQLite in the data folder)", apply: str(func(c *Config) *string { return &c.DB })},
		{flag: "redis", usage: "redis://host:port/db for shared hot state (empty: in process)", apply: str(func(c *Config) *string { return &c.Redis })},
		{flag: "node", usage: "this node's name in shared state (empty: random)", apply: str(func(c *Config) *string { return &c.Node })},
		{flag: "secret", usage: "session token signing secret, 32+ characters (empty: data/secret.key)", apply: str(func(c *Config) *string { return &c.Secret })},
		{flag: "udp-port", usage: "the one UDP port for all WebRTC traffic", apply: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			c.SFU.UDPPort = n
			return err
		}},
		{flag: "public-ip", usage: "public IP to advertise in ICE candidates (comma separated)", apply: func(c *Config, v string) error {
			for _, ip := range splitList(v) {
				if net.ParseIP(ip) == nil {
					return fmt.Errorf("%q is not an IP address", ip)
				}
				c.SFU.PublicIPs = append(c.SFU.PublicIPs, ip)
			}
			return nil
		}},
		{flag: "ice-server", usage: "STUN/TURN URL, e.g. turn:user:pass@turn.example.com:3478 (comma separated)", apply: func(c *Config, v string) error {
			for _, u := range splitList(v) {
				s, err := parseICEServer(u)
				if err != nil {
					return err
				}
				c.SFU.ICEServers = append(c.SFU.ICEServers, s)
			}
			return nil
		}},
		{flag: "stream-key", usage: "NAME=KEY a publisher may use (comma separated)", apply: func(c *Config, v string) error {
			for _, kv := range splitList(v) {
				name, key, ok := strings.Cut(kv, "=")
				if !ok || name == "" || len(key) < 8 {
					return fmt.Errorf("stream key %q: want NAME=KEY with a key of at least 8 characters", name)
				}
				if c.StreamKeys == nil {
					c.StreamKeys = map[string]string{}
				}
				c.StreamKeys[name] = key
			}
			return nil
		}},
		{flag: "max-publishers", usage: "co-hosts per room", apply: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			c.SFU.MaxPublishers = n
			return err
		}},
		{flag: "dev", usage: "anyone on loopback may publish with any key (for trying it out)", isBool: true, apply: func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			c.Dev = b
			return err
		}},
		{flag: "log-level", usage: "debug, info, warn or error", apply: str(func(c *Config) *string { return &c.Log.Level })},
		{flag: "log-format", usage: "text or json", apply: str(func(c *Config) *string { return &c.Log.Format })},
	}
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// parseICEServer reads "turn:user:pass@host:port?transport=udp" or "stun:host:port".
func parseICEServer(u string) (sfu.ICEServer, error) {
	scheme, rest, ok := strings.Cut(u, ":")
	switch scheme {
	case "stun", "stuns", "turn", "turns":
	default:
		return sfu.ICEServer{}, fmt.Errorf("ICE server %q: the scheme must be stun, stuns, turn or turns", u)
	}
	if !ok || rest == "" {
		return sfu.ICEServer{}, fmt.Errorf("ICE server %q has no host", u)
	}
	s := sfu.ICEServer{URLs: []string{u}}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		user, pass, _ := strings.Cut(rest[:at], ":")
		s.URLs = []string{scheme + ":" + rest[at+1:]}
		s.Username, s.Credential = user, pass
	}
	return s, nil
}

// Load builds the configuration for `onair serve` from its arguments and
// environment, layer by layer, and validates it.
func Load(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	return load("onair serve", args, getenv, stderr, nil)
}

// load is Load for any sub-command; extra registers the sub-command's own flags.
// loadCommand loads a sub-command's configuration; when the command cannot
// go on, ok is false and code is its exit code (0 after -h, 2 with the error
// printed).
func loadCommand(name string, args []string, getenv func(string) string, stderr io.Writer, extra func(*flag.FlagSet)) (cfg Config, code int, ok bool) {
	cfg, err := load(name, args, getenv, stderr, extra)
	if err == nil {
		return cfg, 0, true
	}
	if errors.Is(err, flag.ErrHelp) {
		return cfg, 0, false
	}
	fmt.Fprintln(stderr, name+":", err)
	return cfg, 2, false
}

func load(name string, args []string, getenv func(string) string, stderr io.Writer, extra func(*flag.FlagSet)) (Config, error) {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	if extra != nil {
		extra(fs)
	}
	fs.SetOutput(stderr)
	configPath := fs.String("config", getenv("ONAIR_CONFIG"), "YAML configuration file")
	given := map[string]string{}
	table := settings()
	for _, s := range table {
		name := s.flag
		if s.isBool {
			fs.BoolFunc(name, s.usage+" (env ONAIR_"+envName(name)+")", func(v string) error { given[name] = v; return nil })
		} else {
			fs.Func(name, s.usage+" (env ONAIR_"+envName(name)+")", func(v string) error { given[name] = v; return nil })
		}
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *configPath != "" {
		if err := loadYAML(*configPath, &cfg); err != nil {
			return cfg, err
		}
	}
	for _, s := range table {
		if v := getenv("ONAIR_" + envName(s.flag)); v != "" {
			if err := s.apply(&cfg, v); err != nil {
				return cfg, fmt.Errorf("ONAIR_%s: %w", envName(s.flag), err)
			}
		}
	}
	for _, s := range table {
		if v, ok := given[s.flag]; ok {
			if err := s.apply(&cfg, v); err != nil {
				return cfg, fmt.Errorf("--%s: %w", s.flag, err)
			}
		}
	}
	return cfg, cfg.Validate()
}

func envName(flag string) string { return strings.ToUpper(strings.ReplaceAll(flag, "-", "_")) }

func loadYAML(path string, cfg *Config) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.HTTP); err != nil {
		return fmt.Errorf("http address %q: %w", c.HTTP, err)
	}
	if c.Data == "" {
		return errors.New("the data folder must be set")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log level %q: use debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return fmt.Errorf("log format %q: use text or json", c.Log.Format)
	}
	if c.PresenceInterval < 100*time.Millisecond || c.PresenceInterval > 5*time.Second {
		return errors.New("presence_interval: 100ms to 5s (shared state expires after 15 s without renewal)")
	}
	if c.Secret != "" && len(c.Secret) < 32 {
		return errors.New("the token secret needs at least 32 characters")
	}
	if c.DB != "" && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") && !strings.HasPrefix(c.DB, "sqlite://") {
		return fmt.Errorf("db %q: use postgres://... or sqlite:///path (or leave it empty)", c.DB)
	}
	if c.Redis != "" && !strings.HasPrefix(c.Redis, "redis://") && !strings.HasPrefix(c.Redis, "rediss://") {
		return fmt.Errorf("redis %q: use redis://host:port/db", c.Redis)
	}
	for name, key := range c.StreamKeys {
		if len(key) < 8 {
			return fmt.Errorf("stream key of %q: at least 8 characters", name)
		}
	}
	if err := c.Voice.Validate(); err != nil {
		return err
	}
	if err := c.Payments.Validate(); err != nil {
		return err
	}
	if err := c.Egress.Validate(); err != nil {
		return err
	}
	return c.SFU.Validate()
}
