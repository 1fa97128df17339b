package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/onair-live/onair/internal/browsertest"
)

// chatState is window.state.chat with a few facts about the panel's DOM.
const chatState = `(() => {
  const c = (window.state && window.state.chat) || {};
  const input = document.getElementById('chat-input');
  const login = document.getElementById('chat-login');
  return {...c, path: location.pathname,
    inputDisabled: input ? input.disabled : null,
    loginShown: !!login && !login.hidden,
    loginHref: login ? login.getAttribute('href') : ''};
})()`

// Two viewers in the watch page's chat: one signs up in the browser and talks,
// the other stays anonymous, reads it (markup stays text), sees the danmaku fly
// over the player and cannot send; the streamer's studio shows the same chat.
func TestChatBrowser(t *testing.T) {
	n := startNode(t, nil)
	createUser(t, n, "star", "streamer", "star-password")
	browser := browsertest.Launch(t)
	num := browsertest.Num

	// A signs up through the form and lands on the watch page.
	a := browsertest.NewTab(t, browser)
	browsertest.Navigate(t, a, n.base+"/login?tab=signup&next=/watch/star")
	browsertest.WaitState(t, a, "", func(s map[string]any) bool { return s["status"] == "ready" }, 30*time.Second)
	if err := chromedp.Do(a,
		chromedp.SendKeys(chromedp.ID("name"), "chatty"),
		chromedp.SendKeys(chromedp.ID("password"), "chatty-password"),
		chromedp.Click(chromedp.ID("submit")),
	); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitState(t, a, chatState, func(s map[string]any) bool {
		return s["path"] == "/watch/star" && s["status"] == "open" && s["inputDisabled"] == false
	}, 30*time.Second)

	// B is anonymous: a separate browser context, so it has no session cookie.
	b := isolatedTab(t, browser)
	browsertest.Navigate(t, b, n.base+"/watch/star")
	st := browsertest.WaitState(t, b, chatState, func(s map[string]any) bool {
		return s["status"] == "open" && s["loginShown"] == true
	}, 30*time.Second)
	if st["inputDisabled"] != true || browsertest.Str(st, "loginHref") != "/login?next=%2Fwatch%2Fstar" {
		t.Errorf("anonymous chat: %v, want a disabled input and a link to /login?next=%%2Fwatch%%2Fstar", st)
	}

	// The streamer's studio shows the same chat.
	studio := browsertest.NewTab(t, browser)
	browsertest.Navigate(t, studio, n.base+"/studio/star")
	browsertest.WaitState(t, studio, "window.state.chat", func(s map[string]any) bool { return s["status"] == "open" }, 30*time.Second)

	say := func(text string) {
		t.Helper()
		if err := chromedp.Do(a,
			chromedp.SendKeys(chromedp.ID("chat-input"), text),
			chromedp.Click(chromedp.ID("chat-send")),
		); err != nil {
			t.Fatalf("sending %q: %v", text, err)
		}
	}

	say("hello")
	st = browsertest.WaitState(t, b, "window.state.chat", func(s map[string]any) bool {
		return s["lastText"] == "hello" && num(s, "bullets") >= 1
	}, 15*time.Second)
	t.Logf("B after hello: %v", st)
	browsertest.WaitState(t, studio, "window.state.chat", func(s map[string]any) bool { return s["lastText"] == "hello" }, 15*time.Second)
	if got := browsertest.Eval[string](t, b, `document.querySelector('#danmaku .bullet').textContent`); got != "hello" {
		t.Errorf("the bullet on B's overlay says %q", got)
	}

	const xss = `look <img src=x onerror="window.pwned=1"> here`
	say(xss)
	st = browsertest.WaitState(t, b, "window.state.chat", func(s map[string]any) bool { return s["lastText"] == xss }, 15*time.Second)
	if num(st, "messages") != 2 || st["lastError"] != nil {
		t.Errorf("B's chat %v: want 2 messages and no error", st)
	}
	time.Sleep(300 * time.Millisecond) // an onerror handler would have run by now
	for _, tab := range []context.Context{a, b, studio} {
		if n := browsertest.Eval[int](t, tab, `document.querySelectorAll('#chat img, #danmaku img').length`); n != 0 {
			t.Errorf("the message's markup became %d <img> elements", n)
		}
		if pwned := browsertest.Eval[bool](t, tab, `window.pwned !== undefined`); pwned {
			t.Error("the message's markup ran a script")
		}
	}
	if got := browsertest.Eval[string](t, b, `document.querySelector('#chat-list li:last-child .chat-text').textContent`); got != xss {
		t.Errorf("B's last line says %q, want the literal text %q", got, xss)
	}
	if got := browsertest.Eval[string](t, b, `document.querySelector('#chat-list li:last-child .chat-name').textContent`); got != "chatty" {
		t.Errorf("B's last line is from %q", got)
	}

	// The same text again within 10 s is refused, on A only, shown under the input.
	say(xss)
	st = browsertest.WaitState(t, a, chatState, func(s map[string]any) bool { return s["lastError"] == "duplicate" }, 10*time.Second)
	if msg := browsertest.Eval[string](t, a, `document.getElementById('chat-error').hidden ? '' : document.getElementById('chat-error').textContent`); strings.TrimSpace(msg) == "" {
		t.Error("A's duplicate error is not shown under the input")
	}
	if got := browsertest.Eval[map[string]any](t, b, "window.state.chat"); got["lastError"] != nil || num(got, "messages") != 2 {
		t.Errorf("B saw A's refusal: %v", got)
	}

	// The danmaku toggle hides the overlay.
	_ = browsertest.Eval[bool](t, b, `document.getElementById('danmaku-toggle').click(), true`)
	browsertest.WaitState(t, b, "window.state.chat", func(s map[string]any) bool { return num(s, "bullets") == 0 }, 5*time.Second)
	if hidden := browsertest.Eval[bool](t, b, `document.getElementById('danmaku').hidden`); !hidden {
		t.Error("the overlay is still shown after the toggle")
	}
	_ = browsertest.Eval[bool](t, b, `document.getElementById('danmaku-toggle').click(), true`)

	// Screenshots with bullets in flight, at 1280 px and 375 px.
	say("danmaku for the screenshot")
	browsertest.WaitState(t, b, "window.state.chat", func(s map[string]any) bool { return num(s, "bullets") >= 1 }, 10*time.Second)
	time.Sleep(1500 * time.Millisecond)
	browsertest.Screenshot(t, a, "watch-a-1280")
	browsertest.Screenshot(t, b, "watch-b-1280")
	browsertest.Screenshot(t, studio, "studio-1280")
	browsertest.NoSideScroll(t, b)
	for _, tab := range []context.Context{a, b} {
		browsertest.Viewport(t, tab, 375, 800, true)
	}
	time.Sleep(300 * time.Millisecond)
	browsertest.NoSideScroll(t, a)
	browsertest.NoSideScroll(t, b)
	browsertest.FullScreenshot(t, a, "watch-a-375")
	browsertest.FullScreenshot(t, b, "watch-b-375")
}

// isolatedTab opens a tab in a new browser context: its own cookies and
// storage, like a private window.
func isolatedTab(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	cancel = sync.OnceFunc(cancel)
	t.Cleanup(cancel)
	ctx, stop := context.WithTimeout(context.Background(), 30*time.Second)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- chromedp.Do(tab) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("opening a private tab: %v", err)
		}
	case <-ctx.Done():
		cancel()
		<-done
		t.Fatal("opening a private tab: no answer within 30 s")
	}
	return tab
}
