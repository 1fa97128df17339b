package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/onair-live/onair/cmd/onair/app"
)

// hlsPicture is the size of the picture ffprobe reads from the room's HLS
// now, or 0x0.
func hlsPicture(t *testing.T, n *node, room string) (w, h int) {
	ss, err := probe(t, n.base+"/hls/"+room+"/index.m3u8", "")
	if err != nil {
		return 0, 0
	}
	v := streamOf(ss, "video")
	return v.Width, v.Height
}

// Co-hosts side by side: when a second co-host joins, HLS, the restream, the
// snapshot and the recording show both, each in a half-size tile (a picture
// twice as wide as a tile); when one leaves the other fills the picture
// again; the recording plays throughout.
func TestCoHostsSideBySide(t *testing.T) {
	vp8, _, ogg := sources720(t)
	port := startNginxRTMP(t)
	n := egressNode(t, func(c *app.Config) {
		c.Egress.Width, c.Egress.Height = 640, 360
		c.Egress.Record = true
		c.Egress.RTMPAllow = []string{"127.0.0.1"}
	})
	createUser(t, n, "duet", "streamer", "correct-horse-9")
	tok := login(t, n, "duet", "correct-horse-9")
	const key = "duet-push-key-0001"
	if status, out, _ := api(t, n, "POST", "/api/rooms/duet/restream", tok, map[string]any{"name": "nginx", "url": fmt.Sprintf("rtmp://127.0.0.1:%d/live", port), "key": key}); status != 201 {
		t.Fatalf("add target: %d %v", status, out)
	}
	rtmp := fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", port, key)
	picture := func(url string) string {
		ss, err := probe(t, url, "")
		if err != nil {
			return err.Error()
		}
		v := streamOf(ss, "video")
		return fmt.Sprintf("%dx%d", v.Width, v.Height)
	}

	began := time.Now()
	alice := publishFiles(t, n, "duet", "alice-key", vp8, ogg)
	waitPlayable(t, n, "duet", 30*time.Second)
	if got := picture(n.base + "/hls/duet/index.m3u8"); got != "640x360" {
		t.Fatalf("HLS of one co-host: %s, want 640x360", got)
	}

	bob := publishFiles(t, n, "duet", "bob-key", vp8, ogg)
	joined := time.Now()
	eventually(t, 30*time.Second, "HLS to show both co-hosts side by side", func() bool {
		time.Sleep(200 * time.Millisecond)
		w, h := hlsPicture(t, n, "duet")
		return w == 640 && h == 180
	})
	t.Logf("FIGURE co-host joined → HLS shows both side by side: %v", time.Since(joined).Round(10*time.Millisecond))
	eventually(t, 30*time.Second, "the restream to show both co-hosts", func() bool { return picture(rtmp) == "640x180" })
	eventually(t, 3*snapshotEvery, "the snapshot to show both co-hosts", func() bool {
		shot := <-firstSnapshot(t, n, "duet")
		return shot.err == nil && shot.width == 640 && shot.height == 180
	})
	ss, err := probe(t, n.base+"/hls/duet/index.m3u8", "")
	if err != nil || streamOf(ss, "audio").CodecName != "aac" {
		t.Fatalf("the layout's sound: %+v %v", ss, err)
	}

	_ = bob.Close()
	left := time.Now()
	eventually(t, 45*time.Second, "HLS to show the remaining co-host alone", func() bool {
		time.Sleep(200 * time.Millisecond)
		w, h := hlsPicture(t, n, "duet")
		return w == 640 && h == 360
	})
	t.Logf("FIGURE co-host left → HLS shows the other alone: %v (the republish grace is %v)", time.Since(left).Round(10*time.Millisecond), n.cfg.SFU.RepublishGrace)
	time.Sleep(2 * time.Second)
	_ = alice.Close()
	broadcast := time.Since(began)

	rec := readyRecording(t, n, "duet", tok, 90*time.Second)
	url := n.base + rec["media_url"].(string)
	if got := picture(url); got != "640x360" {
		t.Fatalf("recording's picture %s, want 640x360 (the larger of the two layouts)", got)
	}
	// The recording starts when ffmpeg has its first picture and loses the
	// moments each new layout takes to start.
	if d := probeDuration(t, url); d < broadcast/2 || d > broadcast+2*time.Second {
		t.Fatalf("recording of %v from a %v broadcast", d, broadcast)
	}
}
