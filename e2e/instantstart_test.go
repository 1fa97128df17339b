package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	client "github.com/onair-live/onair/clients/go"
	"github.com/onair-live/onair/internal/browsertest"
)

// longGOP makes 12 s of 640x360 30 fps VP8 with a keyframe every 4 s, as a
// fixed-GOP encoder (OBS, a file) sends it: keyframe requests change nothing.
func longGOP(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gop4s.ivf")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
		"-t", "12", "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "800k", "-g", "120", "-keyint_min", "120", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s (install ffmpeg: apt-get install ffmpeg)", err, out)
	}
	return path
}

// Viewers of a publisher with a 4 s GOP that ignores keyframe requests get
// their first whole keyframe at once, wherever in the GOP they join (the
// SFU starts them from the kept GOP), and keep decoding; so does Chromium.
func TestInstantStartOnALongGOP(t *testing.T) {
	file := longGOP(t)
	n := startNode(t, nil)
	src, err := client.OpenIVF(file)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := client.Publish(testContext(t, 20*time.Second), n.opts("gop", "gop-key"), src, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close() })
	time.Sleep(time.Second)

	var ttff []time.Duration
	var viewers []*client.Viewer
	for range 6 { // joining 650 ms apart: at six places in the GOP
		v := watch(t, n, "gop", "", 1)
		viewers = append(viewers, v)
		eventually(t, 10*time.Second, "the first frame", func() bool { _, ok := v.Stats().FirstFrame(); return ok })
		d, _ := v.Stats().FirstFrame()
		ttff = append(ttff, d)
		time.Sleep(650 * time.Millisecond)
	}
	slices.Sort(ttff)
	t.Logf("FIGURE 4 s GOP, keyframe requests ignored: WHEP POST → first whole keyframe p50 %v, max %v (%v)",
		ttff[len(ttff)/2].Round(time.Millisecond), ttff[len(ttff)-1].Round(time.Millisecond), ttff)
	if ttff[len(ttff)-1] >= 4*time.Second {
		t.Fatalf("a viewer waited %v for its first frame: not under one GOP", ttff[len(ttff)-1])
	}
	time.Sleep(2 * time.Second)
	for i, v := range viewers {
		tr := videoTrack(v)
		if tr.Missing != 0 || tr.Frames < 60 {
			t.Errorf("viewer %d after its start: %+v", i, tr)
		}
	}

	// Chromium plays from the kept GOP and goes on decoding.
	if os.Getenv("ONAIR_SKIP_BROWSER_GOP") != "" {
		return
	}
	browser := browsertest.Launch(t)
	num := browsertest.Num
	tab := browsertest.NewTab(t, browser)
	browsertest.Navigate(t, tab, n.base+"/watch/gop")
	st := browsertest.WaitState(t, tab, "", func(s map[string]any) bool { return num(s, "framesDecoded") > 0 }, 30*time.Second)
	t.Logf("FIGURE Chromium on a 4 s GOP: first frame %v ms after its WHEP POST", st["firstFrameMs"])
	if ms := num(st, "firstFrameMs"); ms <= 0 || ms >= 4000 {
		t.Fatalf("Chromium's first frame after %v ms", ms)
	}
	first := num(st, "framesDecoded")
	time.Sleep(3 * time.Second)
	st = browsertest.Eval[map[string]any](t, tab, "window.state")
	if got := num(st, "framesDecoded") - first; got < 60 {
		t.Fatalf("Chromium decoded %v frames in the 3 s after its first: it froze after the replay", got)
	}
}
