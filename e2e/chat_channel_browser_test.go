package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/onair-live/onair/internal/browsertest"
)

// While a room is live, the studio's chat rides on its WHIP session's `room`
// data channel and the viewer's on its WHEP session's; both talk to each other
// through it, and when the stream ends the viewer's chat falls back to the room
// socket without showing a message twice.
func TestChatOnMediaChannels(t *testing.T) {
	n := startNode(t, nil)
	keys := createUser(t, n, "caster", "streamer", "caster-password")
	createUser(t, n, "fan", "viewer", "fan-password")
	browser := browsertest.Launch(t)
	num := browsertest.Num

	studio := loggedInTab(t, browser, n, login(t, n, "caster", "caster-password"))
	browsertest.Navigate(t, studio, n.base+"/studio/caster?autostart=1&res=360&key="+keys["stream_key"])
	browsertest.WaitState(t, studio, "", func(s map[string]any) bool { return s["status"] == "live" && num(s, "framesEncoded") > 0 }, 60*time.Second)
	browsertest.WaitState(t, studio, "window.state.chat", func(s map[string]any) bool {
		return s["status"] == "open" && s["transport"] == "channel"
	}, 30*time.Second)

	fan := loggedInTab(t, browser, n, login(t, n, "fan", "fan-password"))
	browsertest.Navigate(t, fan, n.base+"/watch/caster")
	browsertest.WaitState(t, fan, "window.state.chat", func(s map[string]any) bool {
		return s["status"] == "open" && s["transport"] == "channel"
	}, 30*time.Second)

	say := func(tab context.Context, text string) {
		t.Helper()
		if err := chromedp.Do(tab, chromedp.SendKeys(chromedp.ID("chat-input"), text), chromedp.Click(chromedp.ID("chat-send"))); err != nil {
			t.Fatalf("sending %q: %v", text, err)
		}
	}
	say(fan, "hi from the watch page")
	browsertest.WaitState(t, studio, "window.state.chat", func(s map[string]any) bool { return s["lastText"] == "hi from the watch page" }, 15*time.Second)
	say(studio, "thanks for watching")
	st := browsertest.WaitState(t, fan, "window.state.chat", func(s map[string]any) bool { return s["lastText"] == "thanks for watching" }, 15*time.Second)
	if got := browsertest.Eval[string](t, fan, `document.querySelector('#chat-list li:last-child .chat-name').textContent`); got != "caster" {
		t.Errorf("the studio's message shows as from %q, want caster (its session cookie, not its stream key)", got)
	}
	for _, tab := range []context.Context{studio, fan} {
		if tr := browsertest.Eval[string](t, tab, "window.state.chat.transport"); tr != "channel" {
			t.Errorf("after talking, a page's chat runs on the %s", tr)
		}
	}
	messages := num(st, "messages")

	// The stream ends: the viewer's chat goes back to the socket and still works.
	_ = browsertest.Eval[bool](t, studio, `document.getElementById('golive').click(), true`)
	browsertest.WaitState(t, fan, "window.state.chat", func(s map[string]any) bool {
		return s["status"] == "open" && s["transport"] == "socket"
	}, 30*time.Second)
	say(fan, "still here")
	browsertest.WaitState(t, studio, "window.state.chat", func(s map[string]any) bool { return s["lastText"] == "still here" }, 15*time.Second)
	st = browsertest.WaitState(t, fan, "window.state.chat", func(s map[string]any) bool { return s["lastText"] == "still here" }, 15*time.Second)
	// Two chat lines and the system lines of the stream ending; nothing twice.
	if ids := browsertest.Eval[int](t, fan, `new Set([...document.querySelectorAll('#chat-list li[data-id]')].map(li => li.dataset.id)).size`); ids != browsertest.Eval[int](t, fan, `document.querySelectorAll('#chat-list li[data-id]').length`) {
		t.Error("the viewer's panel shows a message twice after switching transports")
	}
	if num(st, "messages") < messages+1 {
		t.Errorf("the viewer's panel has %v lines, want more than %v", st["messages"], messages)
	}
}
