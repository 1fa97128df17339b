package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/browsertest"
)

// An admin opens /admin/live (linked from the top bar) while a room is
// live: its tile shows the room's snapshot (the <img> loaded, 640 pixels
// wide), title and streamer; History shows the pictures kept of the room as
// thumbnails with their times; "End broadcast", confirmed, takes the room
// off the wall. A viewer is told in words that the page is for admins. In
// the studio, the streamer flips "Record broadcasts": the switch shows the
// server's answer and the API agrees.
func TestBrowserLiveWallAndRecordingSwitch(t *testing.T) {
	_, h264, ogg := sources720(t)
	n := wallNode(t)
	star := createUser(t, n, "glass", "streamer", "glass-pass-12")
	createUser(t, n, "warden", "admin", "warden-pass-12")
	createUser(t, n, "onlooker", "viewer", "onlooker-pass-12")
	boss, fan, streamer := login(t, n, "warden", "warden-pass-12"), login(t, n, "onlooker", "onlooker-pass-12"), login(t, n, "glass", "glass-pass-12")
	if status, out, _ := api(t, n, "PATCH", "/api/rooms/glass", streamer, map[string]any{"title": "Glassblowing at dawn"}); status != 200 {
		t.Fatalf("room settings: %d %v", status, out)
	}
	publishFiles(t, n, "glass", star["stream_key"], h264, ogg)
	keptSnapshots(t, n, "glass", boss, 2)

	browser := browsertest.Launch(t)
	admin := loggedInTab(t, browser, n, boss)
	browsertest.Navigate(t, admin, n.base+"/")
	browsertest.WaitState(t, admin, "", func(s map[string]any) bool { return s["user"] == "warden" }, 20*time.Second)
	if href := browsertest.Eval[string](t, admin, `(document.querySelector('#account [data-action=live-wall]') || {}).getAttribute?.('href') || ''`); href != "/admin/live" {
		t.Fatalf("the admin's top bar links to %q, want /admin/live", href)
	}
	browsertest.Navigate(t, admin, n.base+"/admin/live")
	browsertest.WaitState(t, admin, "", func(s map[string]any) bool {
		return s["status"] == "ready" && browsertest.Num(s, "rooms") == 1 && browsertest.Num(s, "pictures") == 1
	}, 30*time.Second)
	tile := browsertest.Eval[map[string]any](t, admin, `(() => { const t = document.querySelector('.wall-tile'); const i = t.querySelector('.cover img');
		return { w: i.naturalWidth, src: i.getAttribute('src'), text: t.innerText, opacity: getComputedStyle(i).opacity }; })()`)
	if browsertest.Num(tile, "w") != 640 || !strings.HasPrefix(tile["src"].(string), "/api/rooms/glass/snapshot.jpg?t=") {
		t.Fatalf("the tile's picture: %v", tile)
	}
	for _, want := range []string{"Glassblowing at dawn", "@glass", "LIVE", "End broadcast", "Ban streamer", "History"} {
		if !strings.Contains(tile["text"].(string), want) {
			t.Fatalf("the tile says %q, without %q", tile["text"], want)
		}
	}
	// The picture is fetched again under a new URL.
	first := tile["src"].(string)
	eventually(t, 15*time.Second, "the tile's picture to be refreshed", func() bool {
		time.Sleep(250 * time.Millisecond)
		return browsertest.Eval[string](t, admin, `document.querySelector('.wall-tile .cover img').getAttribute('src')`) != first
	})
	eventually(t, 3*time.Second, "the picture to fade in", func() bool {
		return browsertest.Eval[string](t, admin, `getComputedStyle(document.querySelector('.wall-tile .cover img')).opacity`) == "1"
	})
	browsertest.Screenshot(t, admin, "live-wall")

	// History: thumbnails of the kept pictures, newest first, with times.
	browsertest.Eval[bool](t, admin, `document.querySelector('.wall-tile [data-action=history]').click(), true`)
	hist := browsertest.WaitState(t, admin, `window.state.history`, func(s map[string]any) bool {
		return s["status"] == "ready" && browsertest.Num(s, "shown") >= 2 && browsertest.Num(s, "loaded") >= 2
	}, 20*time.Second)
	if hist["room"] != "glass" {
		t.Fatalf("history of %v", hist)
	}
	strip := browsertest.Eval[map[string]any](t, admin, `(() => { const d = document.getElementById('history');
		const times = [...d.querySelectorAll('.history-thumb time')].map((e) => e.getAttribute('datetime'));
		const big = document.getElementById('history-big');
		return { open: d.open, times, big: big.naturalWidth, caption: document.getElementById('history-caption').textContent }; })()`)
	times, _ := strip["times"].([]any)
	if strip["open"] != true || len(times) < 2 || times[0].(string) <= times[1].(string) || browsertest.Num(strip, "big") != 640 || strip["caption"] == "" {
		t.Fatalf("history panel: %v", strip)
	}
	browsertest.Screenshot(t, admin, "history")
	browsertest.Eval[bool](t, admin, `document.getElementById('history-close').click(), true`)

	// A viewer is told why there is nothing to see.
	viewer := loggedInTab(t, browser, n, fan)
	browsertest.Navigate(t, viewer, n.base+"/admin/live")
	browsertest.WaitState(t, viewer, "", func(s map[string]any) bool { return s["status"] == "denied" }, 20*time.Second)
	denied := browsertest.Eval[string](t, viewer, `document.getElementById('denied').innerText`)
	if !strings.Contains(denied, "Admins only") || !strings.Contains(denied, "@onlooker") || browsertest.Eval[int](t, viewer, `document.querySelectorAll('.wall-tile').length`) != 0 ||
		browsertest.Eval[bool](t, viewer, `!!document.querySelector('#account [data-action=live-wall]')`) {
		t.Fatalf("a viewer's live wall: %q", denied)
	}
	browsertest.Screenshot(t, viewer, "viewer")

	// The studio's recording switch.
	studio := loggedInTab(t, browser, n, streamer)
	browsertest.Navigate(t, studio, n.base+"/studio/glass")
	const rec = `window.state.recording || {}`
	sw := browsertest.WaitState(t, studio, rec, func(s map[string]any) bool { return s["status"] == "ready" }, 30*time.Second)
	if sw["record"] != nil || sw["effective"] != false || sw["platformDefault"] != false ||
		!strings.Contains(browsertest.Eval[string](t, studio, `document.getElementById('record-note').textContent`), "not recorded") {
		t.Fatalf("the switch at first: %v", sw)
	}
	for _, on := range []bool{true, false} {
		browsertest.Eval[bool](t, studio, `document.getElementById('record-switch').click(), true`)
		browsertest.WaitState(t, studio, rec, func(s map[string]any) bool {
			return s["status"] == "ready" && s["record"] == on && s["effective"] == on
		}, 15*time.Second)
		status, out, _ := api(t, n, "GET", "/api/rooms/glass/recording", streamer, nil)
		if status != 200 || out["record"] != on || out["effective"] != on || out["platform_default"] != false {
			t.Fatalf("after switching to %v the API says %d %v", on, status, out)
		}
		if checked := browsertest.Eval[bool](t, studio, `document.getElementById('record-switch').checked`); checked != on {
			t.Fatalf("the switch shows %v, want %v", checked, on)
		}
		if on {
			browsertest.Eval[bool](t, studio, `document.getElementById('recording').scrollIntoView({ block: 'center' }), true`)
			browsertest.Screenshot(t, studio, "recording-on")
		}
	}

	// End broadcast, confirmed in the tile: the room leaves the wall.
	browsertest.Eval[bool](t, admin, `document.querySelector('.wall-tile [data-action=end]').click(), true`)
	browsertest.Eval[bool](t, admin, `document.querySelector('.wall-tile .tile-confirm button[type=submit]').click(), true`)
	browsertest.WaitState(t, admin, "", func(s map[string]any) bool { return browsertest.Num(s, "rooms") == 0 }, 20*time.Second)
	if act := browsertest.Eval[map[string]any](t, admin, `window.state.action`); act["status"] != "done" || act["action"] != "end" {
		t.Fatalf("the end action: %v", act)
	}
}
