package app

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaultsNeedNoFlags(t *testing.T) {
	cfg, err := Load(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP != ":8080" || cfg.SFU.UDPPort != 8189 || cfg.Data != "./data" || cfg.NATS != "" || cfg.Dev {
		t.Fatalf("defaults %+v", cfg)
	}
}

// Each layer overrides the one before it: defaults < YAML < ONAIR_* < flags.
func TestConfigLayers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "onair.yaml")
	yaml := "http: 127.0.0.1:9000\ndata: /tmp/yaml-data\nsfu:\n  udp_port: 9100\n  republish_grace: 3s\n  max_publishers: 2\nlog:\n  level: debug\nstream_keys:\n  alice: alice-key-123\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load([]string{"--config", path}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP != "127.0.0.1:9000" || cfg.SFU.UDPPort != 9100 || cfg.SFU.RepublishGrace != 3*time.Second ||
		cfg.SFU.MaxPublishers != 2 || cfg.Log.Level != "debug" || cfg.StreamKeys["alice"] != "alice-key-123" {
		t.Fatalf("yaml layer %+v", cfg)
	}
	if cfg.SFU.PLIThrottle == 0 {
		t.Fatal("a key missing from the YAML lost its default")
	}

	e := env(map[string]string{"ONAIR_CONFIG": path, "ONAIR_HTTP": "127.0.0.1:9001", "ONAIR_UDP_PORT": "9101", "ONAIR_DEV": "true",
		"ONAIR_ICE_SERVER": "stun:stun.example.com:3478,turn:bob:secret@turn.example.com:3478?transport=udp"})
	cfg, err = Load(nil, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP != "127.0.0.1:9001" || cfg.SFU.UDPPort != 9101 || !cfg.Dev || cfg.Data != "/tmp/yaml-data" {
		t.Fatalf("env layer %+v", cfg)
	}
	if len(cfg.SFU.ICEServers) != 2 || cfg.SFU.ICEServers[1].Username != "bob" || cfg.SFU.ICEServers[1].Credential != "secret" ||
		cfg.SFU.ICEServers[1].URLs[0] != "turn:turn.example.com:3478?transport=udp" {
		t.Fatalf("ICE servers %+v", cfg.SFU.ICEServers)
	}

	cfg, err = Load([]string{"--http", "127.0.0.1:9002", "--udp-port", "9102", "--dev=false", "--log-format", "json"}, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP != "127.0.0.1:9002" || cfg.SFU.UDPPort != 9102 || cfg.Dev || cfg.Log.Format != "json" {
		t.Fatalf("flag layer %+v", cfg)
	}
}

func TestConfigRefusesWhatCannotWork(t *testing.T) {
	dir := t.TempDir()
	unknown := filepath.Join(dir, "unknown.yaml")
	_ = os.WriteFile(unknown, []byte("htp: :8080\n"), 0o600)
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--config", unknown}, nil, "field htp not found"},
		{[]string{"--config", filepath.Join(dir, "missing.yaml")}, nil, "no such file"},
		{[]string{"--udp-port", "seventy"}, nil, "--udp-port"},
		{[]string{"--udp-port", "70000"}, nil, "out of range"},
		{[]string{"--http", "8080"}, nil, "http address"},
		{[]string{"--log-level", "loud"}, nil, "log level"},
		{[]string{"--public-ip", "example.com"}, nil, "not an IP"},
		{[]string{"--ice-server", "http://x"}, nil, "scheme"},
		{[]string{"--stream-key", "alice=short"}, nil, "at least 8"},
		{[]string{"--max-publishers", "99"}, nil, "max publishers"},
		{nil, map[string]string{"ONAIR_UDP_PORT": "x"}, "ONAIR_UDP_PORT"},
		{[]string{"stray"}, nil, "unexpected argument"},
		{[]string{"--db", "mysql://x"}, nil, "postgres://"},
		{[]string{"--redis", "http://x"}, nil, "redis://"},
		{[]string{"--secret", "short"}, nil, "32 characters"},
	} {
		_, err := Load(c.args, env(c.env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Load(%v, %v) = %v, want an error mentioning %q", c.args, c.env, err, c.want)
		}
	}
}

// The documented example configuration is valid and documents every key.
func TestExampleConfigLoads(t *testing.T) {
	cfg, err := Load([]string{"--config", "../../../deploy/onair.example.yaml"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.StreamKeys["alice"] == "" || len(cfg.SFU.ICEServers) != 1 || cfg.SFU.RepublishGrace != 10*time.Second {
		t.Fatalf("example config %+v", cfg)
	}
}
