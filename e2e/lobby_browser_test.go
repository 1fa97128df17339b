package e2e

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	client "github.com/onair-live/onair/clients/go"
	"github.com/onair-live/onair/cmd/onair/app"
	"github.com/onair-live/onair/internal/browsertest"
)

// A viewer signs up, finds the live room in the lobby, clicks into it, the video
// plays, and they follow the streamer.
func TestBrowserSignupLobbyWatch(t *testing.T) {
	n := startNode(t, func(c *app.Config) { c.Dev = false })
	star := createUser(t, n, "star", "streamer", "star-password")
	owner := login(t, n, "star", "star-password")
	if status, out, _ := api(t, n, "PATCH", "/api/rooms/star", owner, map[string]any{"title": "Late night <b>jazz</b>", "category": "music"}); status != 200 {
		t.Fatalf("title: %d %v", status, out)
	}
	ivf, ogg := mediaFiles(t)
	video, _ := client.OpenIVF(ivf)
	audio, _ := client.OpenOgg(ogg)
	pub, err := client.Publish(testContext(t, 20*time.Second), n.opts("star", star["stream_key"]), video, audio)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close() })

	browser := browsertest.Launch(t)
	tab := browsertest.NewTab(t, browser)
	browsertest.Navigate(t, tab, n.base+"/login?tab=signup&next=/")
	browsertest.WaitState(t, tab, "", func(s map[string]any) bool { return s["status"] == "ready" }, 30*time.Second)
	if err := chromedp.Do(tab,
		chromedp.SendKeys(chromedp.ID("name"), "newfan"),
		chromedp.SendKeys(chromedp.ID("password"), "newfan-password"),
		chromedp.Click(chromedp.ID("submit")),
	); err != nil {
		t.Fatal(err)
	}
	// Signed up and sent back to the lobby, which lists the live room.
	st := browsertest.WaitState(t, tab, "", func(s map[string]any) bool {
		return s["user"] == "newfan" && browsertest.Num(s, "rooms") == 1
	}, 30*time.Second)
	t.Logf("lobby: %v", st)
	if got := browsertest.Eval[string](t, tab, `location.pathname`); got != "/" {
		t.Fatalf("after sign-up the page is %q", got)
	}
	if n := browsertest.Eval[int](t, tab, `document.querySelectorAll('.room-card b').length`); n != 0 {
		t.Fatalf("the room title's markup became HTML (%d <b> elements)", n)
	}
	browsertest.Screenshot(t, tab, "lobby")

	if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS(`a[href="/watch/star"]`))); err != nil {
		t.Fatal(err)
	}
	st = browsertest.WaitState(t, tab, "", func(s map[string]any) bool {
		return s["status"] == "live" && browsertest.Num(s, "framesDecoded") > 0 && s["title"] == "Late night <b>jazz</b>"
	}, 30*time.Second)
	t.Logf("watch: firstFrameMs=%v viewers=%v", st["firstFrameMs"], st["viewers"])
	if err := chromedp.Do(tab, chromedp.Click(chromedp.ID("follow"))); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitState(t, tab, "", func(s map[string]any) bool { return s["following"] == true }, 10*time.Second)
	eventually(t, 5*time.Second, "the follow to be stored", func() bool {
		_, out, _ := api(t, n, "GET", "/api/users/star/followers", "", nil)
		users, _ := out["users"].([]any)
		return len(users) == 1 && users[0].(map[string]any)["name"] == "newfan"
	})
	browsertest.Screenshot(t, tab, "watch-following")
}
