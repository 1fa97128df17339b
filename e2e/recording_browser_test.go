package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/browsertest"
)

// A recorded broadcast replays in Chromium on /replay/{id}: the <video>
// plays the MP4 (its clock advances) and knows its length; the watch page
// of the offline room lists it under "Past broadcasts".
func TestBrowserReplay(t *testing.T) {
	_, h264, ogg := sources720(t)
	n := recordingNode(t)
	u := createUser(t, n, "replayer", "streamer", "correct-horse-9")
	tok := login(t, n, "replayer", "correct-horse-9")
	p := publishFiles(t, n, "replayer", u["stream_key"], h264, ogg)
	waitPlayable(t, n, "replayer", 30*time.Second)
	time.Sleep(4 * time.Second)
	_ = p.Close()
	rec := readyRecording(t, n, "replayer", tok, 60*time.Second)
	id := rec["id"].(string)

	browser := browsertest.Launch(t)
	tab := browsertest.NewTab(t, browser)
	browsertest.Navigate(t, tab, n.base+"/replay/"+id)
	browsertest.WaitState(t, tab, "", func(s map[string]any) bool { return s["status"] != "loading" }, 30*time.Second)
	const video = `(() => { const v = document.getElementById('replay-video');
		if (v.paused && v.readyState >= 2) v.play().catch(() => {});
		return { t: v.currentTime, d: v.duration, err: v.error ? v.error.code : 0, w: v.videoWidth, status: window.state.status, msg: window.state.error }; })()`
	first := browsertest.WaitState(t, tab, video, func(s map[string]any) bool {
		return s["status"] == "error" || browsertest.Num(s, "t") > 0.5
	}, 30*time.Second)
	if first["status"] == "error" || browsertest.Num(first, "err") != 0 {
		t.Fatalf("replay page: %v", first)
	}
	later := browsertest.WaitState(t, tab, video, func(s map[string]any) bool {
		return browsertest.Num(s, "t") > browsertest.Num(first, "t")+1
	}, 15*time.Second)
	want := rec["duration_ms"].(float64) / 1000
	if d := browsertest.Num(later, "d"); d < want-0.2 || d > want+0.2 || browsertest.Num(later, "w") != 1280 {
		t.Fatalf("the video says %v s at %v px wide, the recording %v s at 1280", d, browsertest.Num(later, "w"), want)
	}
	t.Logf("FIGURE replay in Chromium: currentTime %.2f → %.2f s of %.2f s", browsertest.Num(first, "t"), browsertest.Num(later, "t"), want)

	// The room is offline: its watch page lists the broadcast.
	browsertest.Navigate(t, tab, n.base+"/watch/replayer")
	past := browsertest.WaitState(t, tab, `(() => { const s = document.getElementById('past'); const a = s.querySelector('a');
		return { hidden: s.hidden, href: a ? a.getAttribute('href') : '', title: document.getElementById('past-title').textContent }; })()`,
		func(s map[string]any) bool { return s["hidden"] == false }, 30*time.Second)
	if past["href"] != "/replay/"+id || !strings.Contains(past["title"].(string), "Past broadcasts") {
		t.Fatalf("past broadcasts on the watch page: %v", past)
	}
}
