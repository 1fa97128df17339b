package e2e

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/onair-live/onair/internal/browsertest"
)

// pressButton presses the left mouse button on sel and returns what
// releases it, as a person holding a record button does.
func pressButton(t *testing.T, tab context.Context, sel string) (release func()) {
	t.Helper()
	box := browsertest.Eval[map[string]float64](t, tab, `(() => {
  const r = document.querySelector(`+"`"+sel+"`"+`).getBoundingClientRect();
  return {x: r.left + r.width / 2, y: r.top + r.height / 2};
})()`)
	mouse := func(typ input.DispatchMouseEventType, buttons int64) {
		p := input.DispatchMouseEventParams{Type: typ, X: box["x"], Y: box["y"], Button: input.MouseButtonLeft, Buttons: buttons, ClickCount: 1}
		if _, err := chromedp.Call(tab, input.DispatchMouseEvent, p); err != nil {
			t.Fatalf("%s on %s: %v", typ, sel, err)
		}
	}
	mouse(input.DispatchMouseEventTypeMouseMoved, 0)
	mouse(input.DispatchMouseEventTypeMousePressed, 1)
	return func() { mouse(input.DispatchMouseEventTypeMouseReleased, 0) }
}

// record holds the record button sel for d from the moment the microphone
// is open (the recorder's state, read by stateOf, says "recording"), calling
// during halfway, and returns how long it was held from then: on a loaded
// machine, during or the release can take longer than planned.
func record(t *testing.T, tab context.Context, sel, stateOf string, d time.Duration, during func()) time.Duration {
	t.Helper()
	release := pressButton(t, tab, sel)
	browsertest.WaitState(t, tab, stateOf, func(s map[string]any) bool { return s["status"] == "recording" }, 10*time.Second)
	start := time.Now()
	time.Sleep(d / 2)
	if during != nil {
		during()
	}
	time.Sleep(d - time.Since(start))
	release()
	return time.Since(start)
}

// aboutAsLong: a clip of ms lasts as long as the button was held, give or
// take what opening and closing the recorder costs.
func aboutAsLong(ms float64, held time.Duration) bool {
	return math.Abs(ms-float64(held.Milliseconds())) < 450
}

// label is how voice.js writes a clip's length: whole seconds, at least 1.
func label(ms float64) string {
	s := max(1, int(ms)/1000)
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// audioState loads the metadata of the last <audio> under sel and reports
// what the element knows.
func audioState(sel string) string {
	return `(() => {
  const a = [...document.querySelectorAll(` + "`" + sel + " audio`" + `)].pop();
  if (!a) return {found: false};
  if (a.preload === 'none') { a.preload = 'metadata'; a.load(); }
  return {found: true, src: a.getAttribute('src'), duration: Number.isFinite(a.duration) ? a.duration : -1,
    ready: a.readyState, error: a.error ? a.error.code : 0, time: a.currentTime, ended: a.ended,
    label: a.parentElement.querySelector('.voice-len').textContent};
})()`
}

// Hold the chat's record button for 2 s (Chromium's fake microphone beeps),
// release: the other viewer's chat shows a voice message whose <audio> loads
// a clip of about 2 s from the server and plays it. The same on the messages
// page, between two logged-in users.
func TestVoiceBrowser(t *testing.T) {
	n := startNode(t, nil)
	createUser(t, n, "star", "streamer", "star-password")
	createUser(t, n, "talker", "viewer", "talker-password")
	createUser(t, n, "hearer", "viewer", "hearer-password")
	talker, hearer := login(t, n, "talker", "talker-password"), login(t, n, "hearer", "hearer-password")
	browser := browsertest.Launch(t)
	num := browsertest.Num

	a := loggedInTab(t, browser, n, talker)
	browsertest.Navigate(t, a, n.base+"/watch/star")
	b := isolatedTab(t, browser) // anonymous: a public room's voice messages are for everyone
	browsertest.Navigate(t, b, n.base+"/watch/star")
	browsertest.WaitState(t, a, "window.state.chat", func(s map[string]any) bool {
		v, _ := s["voice"].(map[string]any)
		return s["status"] == "open" && v["status"] == "idle"
	}, 30*time.Second)
	browsertest.WaitState(t, b, "window.state.chat", func(s map[string]any) bool { return s["status"] == "open" }, 30*time.Second)
	if hidden := browsertest.Eval[bool](t, b, `document.getElementById('chat-voice').hidden`); !hidden {
		t.Error("an anonymous viewer sees the record button")
	}

	held := record(t, a, "#chat-voice", "window.state.chat.voice", 2*time.Second, func() { browsertest.Screenshot(t, a, "voice-watch-recording") })
	st := browsertest.WaitState(t, a, "window.state.chat.voice", func(s map[string]any) bool {
		return num(s, "sent") == 1 || s["lastError"] != nil
	}, 30*time.Second)
	if st["lastError"] != nil {
		t.Fatalf("recording failed: %v", st["lastError"])
	}
	st = browsertest.WaitState(t, b, "window.state.chat", func(s map[string]any) bool { return s["lastVoice"] != nil }, 15*time.Second)
	lv := st["lastVoice"].(map[string]any)
	t.Logf("held %v; B got %v", held, lv)
	if ms := num(lv, "durationMs"); !aboutAsLong(ms, held) {
		t.Errorf("held for %v, the server says the clip lasts %v ms", held, ms)
	}
	au := browsertest.WaitState(t, b, audioState("#chat-list li.is-voice"), func(s map[string]any) bool {
		return s["found"] == true && (num(s, "duration") > 0 || num(s, "error") != 0)
	}, 15*time.Second)
	t.Logf("B's <audio>: %v", au)
	if d := num(au, "duration"); num(au, "error") != 0 || math.Abs(d-num(lv, "durationMs")/1000) > 0.25 || !aboutAsLong(d*1000, held) {
		t.Fatalf("B's player: %v; want about %v, as the server said (%v ms)", au, held, lv["durationMs"])
	}
	if au["src"] != "/api/voice/"+browsertest.Str(lv, "id") || au["label"] != label(num(lv, "durationMs")) {
		t.Errorf("B's player %v", au)
	}
	// It plays.
	_ = browsertest.Eval[bool](t, b, `(() => { [...document.querySelectorAll('#chat-list li.is-voice audio')].pop().play(); return true })()`)
	browsertest.WaitState(t, b, audioState("#chat-list li.is-voice"), func(s map[string]any) bool {
		return num(s, "time") > 0.5 || s["ended"] == true
	}, 10*time.Second)
	browsertest.WaitState(t, a, "window.state.chat", func(s map[string]any) bool { return s["lastVoice"] != nil }, 5*time.Second)
	browsertest.Screenshot(t, b, "voice-watch-listener")
	browsertest.Screenshot(t, a, "voice-watch-talker")

	// Private messages: talker records for hearer, whose open page shows it.
	h := loggedInTab(t, browser, n, hearer)
	browsertest.Navigate(t, h, n.base+"/messages?to=talker")
	browsertest.WaitState(t, h, dmState, func(s map[string]any) bool { return s["open"] == "talker" && s["socket"] == "open" }, 20*time.Second)
	browsertest.Navigate(t, a, n.base+"/messages?to=hearer")
	browsertest.WaitState(t, a, dmState, func(s map[string]any) bool {
		v, _ := s["voice"].(map[string]any)
		return s["open"] == "hearer" && s["loading"] == false && v["status"] == "idle"
	}, 20*time.Second)
	held = record(t, a, "#dm-voice", "window.state.voice", 1500*time.Millisecond, nil)
	st = browsertest.WaitState(t, h, dmState, func(s map[string]any) bool { return s["lastVoice"] != "" }, 30*time.Second)
	if v := browsertest.Eval[map[string]any](t, a, "window.state.voice"); v["lastError"] != nil || num(v, "sent") != 1 {
		t.Fatalf("A's recorder on /messages: %v", v)
	}
	au = browsertest.WaitState(t, h, audioState("#dm-messages .dm-msg"), func(s map[string]any) bool {
		return s["found"] == true && (num(s, "duration") > 0 || num(s, "error") != 0)
	}, 15*time.Second)
	if d := num(au, "duration"); num(au, "error") != 0 || !aboutAsLong(d*1000, held) {
		t.Fatalf("the DM player: %v; want about %v", au, held)
	}
	convs, _ := st["conversations"].([]any)
	if first, _ := firstConv(convs); first["last"] != "Voice message ("+browsertest.Str(au, "label")+")" {
		t.Errorf("the conversation list says %v", first)
	}
	browsertest.Screenshot(t, h, "voice-messages-hearer")
}
