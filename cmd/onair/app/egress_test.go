package app

import (
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/onair-live/onair/media/egress"
)

// The example configuration documents the egress defaults as they are.
func TestExampleEgressIsTheDefault(t *testing.T) {
	cfg, err := Load([]string{"--config", "../../../deploy/onair.example.yaml"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := egress.DefaultConfig()
	want.RTMPAllow = []string{}
	if !reflect.DeepEqual(cfg.Egress, want) {
		t.Fatalf("example egress %+v\ndefaults      %+v", cfg.Egress, want)
	}
	if err := (Config{HTTP: ":0", Data: "d", Log: LogConfig{Level: "info", Format: "text"}, PresenceInterval: DefaultConfig().PresenceInterval,
		Egress: egress.Config{RTMPAllow: []string{"no such host!"}}}).Validate(); err == nil || !strings.Contains(err.Error(), "egress.rtmp_allow") {
		t.Fatalf("a bad egress.rtmp_allow entry: %v", err)
	}
}
