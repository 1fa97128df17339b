package e2e

import (
	"testing"
	"time"

	"github.com/onair-live/onair/cmd/onair/app"
	"github.com/onair-live/onair/internal/browsertest"
)

// Two studio tabs go live as co-hosts through the real server, each sees the
// other; a watch tab plays both side by side, follows a co-host leaving, goes
// offline when the room ends and comes back when it is live again.
func TestBrowserStudioAndWatch(t *testing.T) {
	n := startNode(t, func(c *app.Config) { c.SFU.RepublishGrace = 3 * time.Second })
	browser := browsertest.Launch(t)
	num := browsertest.Num
	live := func(s map[string]any) bool {
		return s["status"] == "live" && num(s, "framesEncoded") > 0 && num(s, "bitrateKbps") > 0
	}
	hostA := browsertest.NewTab(t, browser)
	browsertest.Navigate(t, hostA, n.base+"/studio/show?autostart=1&key=alice-key&res=360")
	browsertest.WaitState(t, hostA, "", live, 60*time.Second)

	viewer := browsertest.NewTab(t, browser)
	browsertest.Navigate(t, viewer, n.base+"/watch/show")
	st := browsertest.WaitState(t, viewer, "", func(s map[string]any) bool {
		return s["status"] == "live" && num(s, "framesDecoded") > 0
	}, 30*time.Second)
	t.Logf("viewer, one host: firstFrameMs=%v codec=%v %vx%v", st["firstFrameMs"], st["codec"], st["width"], st["height"])
	if num(st, "firstFrameMs") <= 0 || st["codec"] != "VP8" || num(st, "width") <= 0 {
		t.Errorf("viewer state %v: want firstFrameMs > 0, codec VP8, width > 0", st)
	}
	// Chromium's keys were caught from its handshake: its tracks are sent on
	// the SFU's own write path, not pion's.
	if on := n.app.SFU().Stats().TracksOnWire; on < 2 {
		t.Errorf("%d tracks on the wire with a Chromium viewer, want its audio and video", on)
	}

	// Host A reloads the studio and goes live again with the same key: the viewer
	// keeps its session and keeps decoding across the republish (continuous
	// sequence numbers and timestamps, a fresh keyframe, no reconnect).
	before := browsertest.Eval[map[string]any](t, viewer, "window.state")
	browsertest.Navigate(t, hostA, n.base+"/studio/show?autostart=1&key=alice-key&res=360")
	browsertest.WaitState(t, hostA, "", live, 60*time.Second)
	st = browsertest.WaitState(t, viewer, "", func(s map[string]any) bool {
		return num(s, "framesDecoded") > num(before, "framesDecoded")+90
	}, 30*time.Second)
	if num(st, "attempts") != num(before, "attempts") || num(st, "slots") != 1 {
		t.Errorf("the viewer reconnected or lost a slot across the republish: before %v after %v", before, st)
	}

	hostB := browsertest.NewTab(t, browser)
	browsertest.Navigate(t, hostB, n.base+"/studio/show?autostart=1&key=bob-key&res=360")
	browsertest.WaitState(t, hostB, "", live, 60*time.Second)
	sees := func(s map[string]any) bool { return num(s, "cohosts") == 1 && num(s, "cohostFramesDecoded") > 0 }
	browsertest.WaitState(t, hostA, "", sees, 30*time.Second)
	browsertest.WaitState(t, hostB, "", sees, 30*time.Second)
	browsertest.FullScreenshot(t, hostA, "studio-live")

	st = browsertest.WaitState(t, viewer, "", func(s map[string]any) bool {
		return num(s, "slots") == 2 && s["channel"] == "open"
	}, 30*time.Second)
	_ = browsertest.Eval[bool](t, viewer, `document.getElementById('stats-toggle').click(), true`)
	browsertest.WaitState(t, viewer, "", func(s map[string]any) bool { return num(s, "latencyMs") > 0 }, 10*time.Second)
	time.Sleep(1100 * time.Millisecond) // one more stats round for the overlay
	path := browsertest.Screenshot(t, viewer, "watch-two-slots")
	t.Logf("watch page screenshot: %s", path)

	// A co-host leaves: after the grace period the stage shows one slot again.
	_ = browsertest.Eval[bool](t, hostB, `document.getElementById('golive').click(), true`)
	browsertest.WaitState(t, hostB, "", func(s map[string]any) bool { return s["status"] == "offline" }, 10*time.Second)
	browsertest.WaitState(t, viewer, "", func(s map[string]any) bool { return num(s, "slots") == 1 }, 15*time.Second)

	// The room ends: the viewer waits offline, then plays again when it returns.
	_ = browsertest.Eval[bool](t, hostA, `document.getElementById('golive').click(), true`)
	browsertest.WaitState(t, viewer, "", func(s map[string]any) bool { return s["status"] == "offline" }, 20*time.Second)
	_ = browsertest.Eval[bool](t, hostA, `document.getElementById('golive').click(), true`)
	browsertest.WaitState(t, hostA, "", live, 30*time.Second)
	browsertest.WaitState(t, viewer, "", func(s map[string]any) bool {
		return s["status"] == "live" && num(s, "framesDecoded") > 30
	}, 45*time.Second)

	browsertest.Viewport(t, viewer, 375, 800, true)
	time.Sleep(500 * time.Millisecond)
	browsertest.NoSideScroll(t, viewer)
	browsertest.Screenshot(t, viewer, "watch-live-375")
}

// Chromium publishes H.264 from the studio; the room is negotiated with the
// offered profile and a Chromium viewer decodes it.
func TestBrowserH264(t *testing.T) {
	n := startNode(t, nil)
	browser := browsertest.Launch(t)
	host := browsertest.NewTab(t, browser)
	browsertest.Navigate(t, host, n.base+"/studio/h264?autostart=1&key=h264-key&res=360&codec=H264")
	browsertest.WaitState(t, host, "", func(s map[string]any) bool {
		return s["status"] == "live" && browsertest.Num(s, "framesEncoded") > 0
	}, 60*time.Second)
	viewer := browsertest.NewTab(t, browser)
	browsertest.Navigate(t, viewer, n.base+"/watch/h264")
	st := browsertest.WaitState(t, viewer, "", func(s map[string]any) bool {
		return browsertest.Num(s, "framesDecoded") > 30
	}, 30*time.Second)
	if st["codec"] != "H264" {
		t.Fatalf("viewer codec %v", st["codec"])
	}
	rooms := n.app.SFU().Rooms()
	if len(rooms) != 1 || rooms[0].VideoCodec != "video/h264" {
		t.Fatalf("rooms %+v", rooms)
	}
}
