package app

import (
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
)

// A node that cannot start (here: its HTTP address is taken) says why and
// releases what it had built, so a second attempt on the same data folder
// works.
func TestNewFailsCleanly(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := DefaultConfig()
	cfg.HTTP = taken.Addr().String()
	cfg.Data = t.TempDir()
	cfg.SFU.UDPPort = -1
	cfg.SFU.LoopbackOnly = true
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := New(cfg, log)
	if err == nil || a != nil || !strings.Contains(err.Error(), "http") {
		t.Fatalf("New on a taken address: %v, %v", a, err)
	}
	cfg.HTTP = "127.0.0.1:0"
	a, err = New(cfg, log)
	if err != nil {
		t.Fatalf("a second start on the same data folder: %v", err)
	}
	a.close()
}
