package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	client "github.com/onair-live/onair/clients/go"
	"github.com/onair-live/onair/cmd/onair/app"
)

// node is one onair server running in this test process.
type node struct {
	app  *app.App
	cfg  app.Config
	base string
}

// startNode runs a node on free loopback ports with an embedded bus, unless edit
// changes the configuration.
func startNode(t testing.TB, edit func(*app.Config)) *node {
	t.Helper()
	cfg := app.DefaultConfig()
	cfg.HTTP = "127.0.0.1:0"
	cfg.Data = t.TempDir()
	cfg.Dev = true
	cfg.SFU.UDPPort = -1
	cfg.SFU.LoopbackOnly = true
	cfg.SFU.RepublishGrace = 3 * time.Second
	if edit != nil {
		edit(&cfg)
	}
	level := slog.LevelWarn
	if os.Getenv("ONAIR_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level}))
	a, err := app.New(cfg, log)
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("node stopped with %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("node did not stop within 15 s")
		}
	})
	return &node{app: a, cfg: cfg, base: "http://" + a.Addr().String()}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", p)
	return len(p), nil
}

func (n *node) opts(room, token string) client.Options {
	return client.Options{BaseURL: n.base, Room: room, Token: token, LoopbackOnly: true}
}

func testContext(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// publishSynthetic goes live with generated VP8 (and Opus unless audio is false).
func publishSynthetic(t testing.TB, n *node, room, key string, fps int, audio bool) *client.Publisher {
	t.Helper()
	var a client.Source
	if audio {
		a = client.NewSyntheticOpus()
	}
	p, err := client.Publish(testContext(t, 20*time.Second), n.opts(room, key), client.NewSyntheticVP8(fps, 500_000), a)
	if err != nil {
		t.Fatalf("publish %s: %v", room, err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func watch(t testing.TB, n *node, room, token string, slots int) *client.Viewer {
	t.Helper()
	v, err := client.Watch(testContext(t, 20*time.Second), n.opts(room, token), slots)
	if err != nil {
		t.Fatalf("watch %s: %v", room, err)
	}
	t.Cleanup(func() { _ = v.Close() })
	return v
}

// eventually polls cond until it holds or the time is up.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// track returns the viewer's track of a kind on m-line pair i (stream "<room>-<i>").
func track(v *client.Viewer, room, kind string, i int) (client.TrackStats, bool) {
	for _, tr := range v.Stats().Tracks {
		if tr.Kind == kind && tr.StreamID == fmt.Sprintf("%s-%d", room, i) {
			return tr, true
		}
	}
	return client.TrackStats{}, false
}

// mediaFiles makes a 2 s VP8 IVF and Ogg/Opus with ffmpeg, once per test binary.
func mediaFiles(t testing.TB) (ivf, ogg string) {
	t.Helper()
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatalf("ffmpeg is required (apt-get install ffmpeg): %v", err)
	}
	dir := t.TempDir()
	ivf, ogg = filepath.Join(dir, "video.ivf"), filepath.Join(dir, "audio.ogg")
	for _, args := range [][]string{
		{"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-t", "2", "-c:v", "libvpx", "-b:v", "1M", "-g", "30", "-deadline", "realtime", "-cpu-used", "8", ivf},
		{"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "2", "-c:a", "libopus", "-b:a", "64k", ogg},
	} {
		cmd := exec.Command(ffmpeg, append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
		}
	}
	return ivf, ogg
}

// do sends one HTTP request and returns status, headers and body.
func do(t testing.TB, method, url, ctype, body string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = stringsReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}
