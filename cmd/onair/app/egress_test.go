package app

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/onair-live/onair/media/egress"
)

// The example configuration documents the egress defaults as they are,
// with the snapshot archive's.
func TestExampleEgressIsTheDefault(t *testing.T) {
	cfg, err := Load([]string{"--config", "../../../deploy/onair.example.yaml"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultEgressConfig()
	want.RTMPAllow = []string{}
	if !reflect.DeepEqual(cfg.Egress, want) {
		t.Fatalf("example egress %+v\ndefaults      %+v", cfg.Egress, want)
	}
	if err := (Config{HTTP: ":0", Data: "d", Log: LogConfig{Level: "info", Format: "text"}, PresenceInterval: DefaultConfig().PresenceInterval,
		Egress: EgressConfig{Config: egress.Config{RTMPAllow: []string{"no such host!"}}}}).Validate(); err == nil || !strings.Contains(err.Error(), "egress.rtmp_allow") {
		t.Fatalf("a bad egress.rtmp_allow entry: %v", err)
	}
}

// The egress section's YAML fills media/egress's settings and the snapshot
// archive's side by side; 0 turns archiving off; values that cannot work
// are refused by name.
func TestEgressSnapshotArchiveConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	cfg, err := Load([]string{"--config", write("a.yaml", "egress:\n  snapshot_interval: 5s\n  snapshot_keep_every: 30s\n  snapshot_retention: 48h\n")}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Egress.SnapshotInterval != 5*time.Second || cfg.Egress.SnapshotKeepEvery != 30*time.Second || cfg.Egress.SnapshotRetention != 48*time.Hour ||
		cfg.Egress.MaxJobs != egress.DefaultConfig().MaxJobs {
		t.Fatalf("egress %+v", cfg.Egress)
	}
	if cfg, err = Load([]string{"--config", write("off.yaml", "egress:\n  snapshot_keep_every: 0s\n")}, env(nil), io.Discard); err != nil || cfg.Egress.SnapshotKeepEvery != 0 {
		t.Fatalf("archiving off: %v %v", cfg.Egress.SnapshotKeepEvery, err)
	}
	for body, want := range map[string]string{
		"egress:\n  snapshot_keep_every: 10ms\n": "egress.snapshot_keep_every",
		"egress:\n  snapshot_retention: 1m\n":    "egress.snapshot_retention",
		"egress:\n  snapshot_keep: 1m\n":         "field snapshot_keep not found",
	} {
		if _, err := Load([]string{"--config", write("bad.yaml", body)}, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error mentioning %q", body, err, want)
		}
	}
}
