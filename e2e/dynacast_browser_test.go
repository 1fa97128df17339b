package e2e

import (
	"testing"
	"time"

	"github.com/onair-live/onair/cmd/onair/app"
	"github.com/onair-live/onair/internal/browsertest"
)

// A studio sending three layers with no viewer (and no HLS or snapshot job,
// which would take every layer) pauses its mid and high encodings once the
// server says no viewer can take them, and resumes them when a viewer joins.
func TestBrowserDynacast(t *testing.T) {
	off := false
	n := startNode(t, func(c *app.Config) { c.Egress.HLS, c.Egress.Snapshots = &off, &off })
	chromium := browsertest.Launch(t)
	// Not goLiveSimulcast: that waits for every layer to send, and on a busy
	// machine Chromium's estimate may reach the high layer's rate only after
	// the server has asked for it to be paused.
	host := browsertest.NewTab(t, chromium)
	spyPeerConnections(t, host)
	browsertest.Navigate(t, host, n.base+"/studio/dyna?autostart=1&key=dyna-key")
	layer := func(s map[string]any, rid string) map[string]any {
		ls, _ := s["layers"].([]any)
		for _, l := range ls {
			if m := l.(map[string]any); m["rid"] == rid {
				return m
			}
		}
		return nil
	}
	start := time.Now()
	paused := browsertest.WaitState(t, host, "", func(s map[string]any) bool {
		p, _ := s["pausedLayers"].([]any)
		f, h, q := layer(s, "f"), layer(s, "h"), layer(s, "q")
		return s["status"] == "live" && s["simulcast"] == true && len(p) == 2 && f != nil && f["active"] == false &&
			h != nil && h["active"] == false && q != nil && browsertest.Num(q, "kbps") > 0
	}, 60*time.Second)
	t.Logf("FIGURE no viewer: mid and high paused at the studio after %v (%v)", time.Since(start).Round(100*time.Millisecond), paused["pausedLayers"])

	joined := time.Now()
	v := watch(t, n, "dyna", "", 1)
	eventually(t, 15*time.Second, "the viewer's first keyframe", func() bool {
		_, ok := v.Stats().FirstKeyframe()
		return ok
	})
	browsertest.WaitState(t, host, "", func(s map[string]any) bool {
		// Resumed: both encodings active again and sending (the high one
		// as soon as Chromium's estimate allows; the mid one at once).
		p, _ := s["pausedLayers"].([]any)
		f, h := layer(s, "f"), layer(s, "h")
		return len(p) == 0 && f != nil && f["active"] != false && h != nil && h["active"] != false && browsertest.Num(h, "kbps") > 0
	}, 20*time.Second)
	t.Logf("FIGURE a viewer joins: every layer resumed after %v", time.Since(joined).Round(100*time.Millisecond))
}
