package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/onair-live/onair/cmd/onair/app"
	"github.com/onair-live/onair/internal/browsertest"
)

// A streamer adds a restream target in the studio while live: the card
// shows it going live at nginx-rtmp, never the key. The lobby card of the
// room, which has no cover, shows its live snapshot.
func TestBrowserRestreamAndSnapshot(t *testing.T) {
	vp8, _, ogg := sources720(t)
	port := startNginxRTMP(t)
	n := egressNode(t, func(c *app.Config) {
		c.Dev = false
		c.Egress.RTMPAllow = []string{"127.0.0.1"}
	})
	u := createUser(t, n, "studio", "streamer", "correct-horse-9")
	tok := login(t, n, "studio", "correct-horse-9")
	publishFiles(t, n, "studio", u["stream_key"], vp8, ogg)

	browser := browsertest.Launch(t)
	tab := loggedInTab(t, browser, n, tok)
	browsertest.Navigate(t, tab, n.base+"/studio/studio")
	restream := `window.state.restream || {}`
	browsertest.WaitState(t, tab, restream, func(s map[string]any) bool { return s["status"] == "ready" }, 30*time.Second)
	const key = "studio-secret-key-9876"
	if err := chromedp.Do(tab,
		chromedp.SendKeys(chromedp.ID("restream-name"), "My nginx"),
		chromedp.SendKeys(chromedp.ID("restream-url"), fmt.Sprintf("rtmp://127.0.0.1:%d/live", port)),
		chromedp.SendKeys(chromedp.ID("restream-key"), key),
		chromedp.Click(chromedp.ID("restream-add")),
	); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitState(t, tab, restream, func(s map[string]any) bool {
		ts, _ := s["targets"].([]any)
		return len(ts) == 1 && ts[0].(map[string]any)["state"] == "live"
	}, 40*time.Second)
	text := browsertest.Eval[string](t, tab, `document.querySelector('#restream').innerText`)
	if strings.Contains(text, key) || !strings.Contains(text, "…9876") || !strings.Contains(strings.ToLower(text), "live") {
		t.Fatalf("restream card: %q", text)
	}
	browsertest.Screenshot(t, tab, "studio-restream")
	if _, err := probe(t, fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", port, key), ""); err != nil {
		t.Fatal(err)
	}

	// A typo is refused with the server's words.
	if err := chromedp.Do(tab,
		chromedp.SendKeys(chromedp.ID("restream-url"), "rtmp://10.0.0.7/live"),
		chromedp.SendKeys(chromedp.ID("restream-key"), "k"),
		chromedp.Click(chromedp.ID("restream-add")),
	); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitState(t, tab, restream, func(s map[string]any) bool {
		return strings.Contains(fmt.Sprint(s["error"]), "private address")
	}, 10*time.Second)

	lobby := browsertest.NewTab(t, browser)
	browsertest.Navigate(t, lobby, n.base+"/")
	browsertest.WaitState(t, lobby, "", func(s map[string]any) bool { return browsertest.Num(s, "rooms") == 1 }, 20*time.Second)
	var width int
	eventually(t, 20*time.Second, "the card's snapshot", func() bool {
		width = browsertest.Eval[int](t, lobby, `(() => { const i = document.querySelector('.room-card img'); return i && i.dataset.loaded === 'true' ? i.naturalWidth : 0 })()`)
		return width > 0
	})
	if width != 640 {
		t.Fatalf("the card's picture is %d wide, want the 640-pixel snapshot", width)
	}
	eventually(t, 2*time.Second, "the picture to fade in", func() bool {
		return browsertest.Eval[string](t, lobby, `getComputedStyle(document.querySelector('.room-card img')).opacity`) == "1"
	})
	browsertest.Screenshot(t, lobby, "lobby-snapshot")
}
