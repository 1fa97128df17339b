package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/onair-live/onair/internal/browsertest"
)

// dmState is the messages page's window.state with facts about its DOM.
const dmState = `(() => {
  const s = window.state || {};
  const badge = document.querySelector('#topbar-messages .topbar-badge');
  const err = document.getElementById('dm-send-error');
  return {...s, path: location.pathname + location.search,
    topbarBadge: badge && !badge.hidden ? badge.textContent : '',
    shownError: err && !err.hidden ? err.textContent : ''};
})()`

// Two users in two browsers (separate cookie jars) on /messages: A starts a
// conversation with B by ?to= and sends markup, which B's open page lists live
// with an unread badge (in the list and the top bar) and shows as text when
// opened; opening it marks it read, which A's page shows; older messages load
// by pages; B blocks A, and A's next send says so in words, as do sending too
// fast and a message over the limit. Anonymous visitors go to the login page,
// and the top bar's Messages link counts live on other pages too.
func TestDMBrowser(t *testing.T) {
	n := startNode(t, nil)
	for _, u := range []string{"alice", "bob", "carol"} {
		createUser(t, n, u, "viewer", u+"-password")
	}
	alice, bob, carol := login(t, n, "alice", "alice-password"), login(t, n, "bob", "bob-password"), login(t, n, "carol", "carol-password")

	// 55 messages between carol and bob, for paging (50 a page), sent while
	// the browser starts. Each sender may send 10 at once then 2 a second;
	// taking turns, one waits while the other's tokens come back.
	const seeded = 55
	seedErr := make(chan error, 1)
	go func() {
		defer close(seedErr)
		for j := range seeded {
			from, to := carol, "bob"
			if j%2 == 1 {
				from, to = bob, "carol"
			}
			for {
				status, out, _ := api(t, n, "POST", "/api/dm/"+to, from, map[string]string{"text": fmt.Sprintf("seed %02d", j)})
				if status == 201 {
					break
				}
				if status != 429 {
					seedErr <- fmt.Errorf("seed %d: %d %v", j, status, out)
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	}()

	browser := browsertest.Launch(t)
	num := browsertest.Num

	// Anonymous: to the login page, coming back to /messages.
	anon := isolatedTab(t, browser)
	browsertest.Navigate(t, anon, n.base+"/messages")
	browsertest.WaitState(t, anon, `({path: location.pathname, next: new URLSearchParams(location.search).get('next')})`,
		func(s map[string]any) bool { return s["path"] == "/login" && s["next"] == "/messages" }, 15*time.Second)

	if err := <-seedErr; err != nil {
		t.Fatal(err)
	}

	// B waits on /messages with carol's conversation (28 unread).
	b := loggedInTab(t, browser, n, bob)
	browsertest.Navigate(t, b, n.base+"/messages")
	st := browsertest.WaitState(t, b, dmState, func(s map[string]any) bool {
		return s["status"] == "ready" && s["socket"] == "open" && num(s, "unreadTotal") == 28 && s["topbarBadge"] == "28"
	}, 20*time.Second)
	t.Logf("B before: %v", st)

	// A opens a new conversation with B and sends markup with Enter.
	a := loggedInTab(t, browser, n, alice)
	browsertest.Navigate(t, a, n.base+"/messages?to=bob")
	browsertest.WaitState(t, a, dmState, func(s map[string]any) bool {
		return s["open"] == "bob" && s["loading"] == false && s["socket"] == "open" && num(s, "messages") == 0
	}, 20*time.Second)
	const xss = `hi <img src=x onerror=window.__pwned=1> bob`
	typeIn(t, a, xss)
	pressEnter(t, a)
	st = browsertest.WaitState(t, a, dmState, func(s map[string]any) bool {
		return s["lastText"] == xss && s["lastStatus"] == "Sent"
	}, 10*time.Second)
	if v := browsertest.Eval[string](t, a, `document.getElementById('dm-input').value`); v != "" {
		t.Errorf("A's composer still holds %q after sending", v)
	}

	// B's list shows it live, first, with an unread badge; so does the top bar.
	st = browsertest.WaitState(t, b, dmState, func(s map[string]any) bool {
		return num(s, "unreadTotal") == 29 && s["topbarBadge"] == "29"
	}, 10*time.Second)
	convs, _ := st["conversations"].([]any)
	if first, _ := firstConv(convs); first["name"] != "alice" || num(first, "unread") != 1 || first["last"] != xss {
		t.Errorf("B's first conversation is %v, want alice's with 1 unread", first)
	}
	if got := browsertest.Eval[string](t, b, `document.querySelector('.dm-conv[data-name="alice"] .dm-unread').textContent`); got != "1" {
		t.Errorf("alice's unread badge says %q", got)
	}
	browsertest.Screenshot(t, b, "b-unread-1280")

	// B opens it: the text is literal, no script ran, the badge clears.
	clickOn(t, b, `.dm-conv[data-name="alice"]`)
	st = browsertest.WaitState(t, b, dmState, func(s map[string]any) bool {
		return s["open"] == "alice" && num(s, "messages") == 1 && num(s, "reads") >= 1 && num(s, "unreadTotal") == 28 && s["topbarBadge"] == "28"
	}, 10*time.Second)
	if st["path"] != "/messages?to=alice" {
		t.Errorf("B's address is %v after opening alice's conversation", st["path"])
	}
	time.Sleep(300 * time.Millisecond) // an onerror handler would have run by now
	for _, tab := range []context.Context{a, b} {
		if got := browsertest.Eval[string](t, tab, `document.querySelector('#dm-messages .dm-bubble').textContent`); got != xss {
			t.Errorf("the bubble says %q, want the literal text", got)
		}
		if n := browsertest.Eval[int](t, tab, `document.querySelectorAll('main img').length`); n != 0 {
			t.Errorf("the message became %d <img> elements", n)
		}
		if pwned := browsertest.Eval[bool](t, tab, `window.__pwned !== undefined`); pwned {
			t.Error("the message's markup ran a script")
		}
	}
	if badges := browsertest.Eval[int](t, b, `document.querySelectorAll('.dm-conv[data-name="alice"] .dm-unread').length`); badges != 0 {
		t.Error("alice's badge is still shown after B opened the conversation")
	}

	// A sees that B read it.
	browsertest.WaitState(t, a, dmState, func(s map[string]any) bool { return s["lastStatus"] == "Read" }, 15*time.Second)

	// B answers; A's open conversation shows it live and stays read.
	typeIn(t, b, "hello alice")
	pressEnter(t, b)
	browsertest.WaitState(t, a, dmState, func(s map[string]any) bool {
		return s["lastText"] == "hello alice" && num(s, "messages") == 2 && num(s, "unreadTotal") == 0 && s["topbarBadge"] == ""
	}, 10*time.Second)

	// Over the limit: the counter says so and Send is off.
	setInput(t, a, strings.Repeat("x", 1001))
	st = browsertest.Eval[map[string]any](t, a, `({count: document.getElementById('dm-count').textContent,
	  disabled: document.getElementById('dm-send').disabled, error: document.getElementById('dm-send-error').textContent})`)
	if st["count"] != "1001/1000" || st["disabled"] != true || !strings.Contains(browsertest.Str(st, "error"), "at most 1000 characters") {
		t.Errorf("a 1001-character message: %v", st)
	}
	setInput(t, a, "")

	// Too fast: A's sends spent through the API, the page's next one is refused
	// with the wait in seconds (tokens come back every 0.5 s, so try again if
	// one came back in between).
	for try := 1; ; try++ {
		for {
			if status, _, _ := api(t, n, "POST", "/api/dm/carol", alice, map[string]string{"text": "spending"}); status == 429 {
				break
			}
		}
		probe := fmt.Sprintf("quick %d", try)
		setInput(t, a, probe)
		_ = browsertest.Eval[bool](t, a, `document.getElementById('dm-send').click(), true`)
		st = browsertest.WaitState(t, a, dmState, func(s map[string]any) bool {
			return s["lastText"] == probe || s["sendError"] != ""
		}, 10*time.Second)
		if msg := browsertest.Str(st, "shownError"); strings.Contains(msg, "too fast") {
			if !strings.Contains(msg, "Try again in ") || !strings.HasSuffix(msg, " s.") {
				t.Errorf("the rate-limit error says %q", msg)
			}
			break
		}
		if try == 5 {
			t.Fatalf("five sends right after a 429 were all accepted: %v", st)
		}
	}
	browsertest.WaitState(t, a, dmState, func(s map[string]any) bool { return s["sendError"] == "" }, 10*time.Second)
	if v := browsertest.Eval[string](t, a, `document.getElementById('dm-input').value`); !strings.HasPrefix(v, "quick ") {
		t.Errorf("A's refused text was not kept: %q", v)
	}
	setInput(t, a, "")

	// B blocks A; A's next send is refused, in words, and the text stays.
	clickOn(t, b, "#dm-block")
	browsertest.WaitState(t, b, dmState, func(s map[string]any) bool { return s["blocked"] == true }, 10*time.Second)
	if got := browsertest.Eval[string](t, b, `document.getElementById('dm-block').textContent`); got != "Unblock" {
		t.Errorf("the block button says %q once blocked", got)
	}
	typeIn(t, a, "are you there?")
	pressEnter(t, a)
	st = browsertest.WaitState(t, a, dmState, func(s map[string]any) bool { return s["shownError"] != "" }, 10*time.Second)
	if msg := browsertest.Str(st, "shownError"); msg != "bob does not accept messages from you." {
		t.Errorf("A's blocked send says %q", msg)
	}
	if v := browsertest.Eval[string](t, a, `document.getElementById('dm-input').value`); v != "are you there?" {
		t.Errorf("A's refused text was not kept: %q", v)
	}

	// Older messages: carol's conversation shows 50, then all 55, keeping the
	// place in view. A draft for alice stays with alice.
	typeIn(t, b, "draft for alice")
	clickOn(t, b, `.dm-conv[data-name="carol"]`)
	browsertest.WaitState(t, b, dmState, func(s map[string]any) bool {
		return s["open"] == "carol" && num(s, "messages") == 50 && s["older"] == true && num(s, "unreadTotal") == 0
	}, 10*time.Second)
	if v := browsertest.Eval[string](t, b, `document.getElementById('dm-input').value`); v != "" {
		t.Errorf("carol's composer holds %q", v)
	}
	if first := browsertest.Eval[string](t, b, `document.querySelector('#dm-messages .dm-bubble').textContent`); first != "seed 05" {
		t.Errorf("the oldest of the newest 50 is %q", first)
	}
	clickOn(t, b, "#dm-older")
	browsertest.WaitState(t, b, dmState, func(s map[string]any) bool { return num(s, "messages") == seeded && s["older"] == false }, 10*time.Second)
	st = browsertest.Eval[map[string]any](t, b, `(() => { const s = document.getElementById('dm-scroll');
	  return {first: document.querySelector('#dm-messages .dm-bubble').textContent, top: s.scrollTop}; })()`)
	if st["first"] != "seed 00" || num(st, "top") < 50 {
		t.Errorf("after loading older messages: %v, want seed 00 first and the view kept (scrolled down)", st)
	}

	// Screenshots: desktop, then phones (one pane at a time, no side scroll).
	clickOn(t, b, `.dm-conv[data-name="alice"]`)
	browsertest.WaitState(t, b, dmState, func(s map[string]any) bool { return s["open"] == "alice" && num(s, "messages") == 2 }, 10*time.Second)
	if v := browsertest.Eval[string](t, b, `document.getElementById('dm-input').value`); v != "draft for alice" {
		t.Errorf("alice's draft came back as %q", v)
	}
	setInput(t, b, "")
	browsertest.Screenshot(t, a, "a-1280")
	browsertest.Screenshot(t, b, "b-1280")
	for _, tab := range []context.Context{a, b} {
		browsertest.Viewport(t, tab, 375, 740, true)
	}
	time.Sleep(300 * time.Millisecond)
	for _, tab := range []context.Context{a, b} {
		browsertest.NoSideScroll(t, tab)
		if shown := browsertest.Eval[bool](t, tab, `getComputedStyle(document.querySelector('.dm-list-pane')).display === 'none'`); !shown {
			t.Error("at 375 px the list shows beside the open conversation")
		}
	}
	browsertest.Screenshot(t, a, "a-thread-375")
	browsertest.Screenshot(t, b, "b-thread-375")
	clickOn(t, b, "#dm-back")
	browsertest.WaitState(t, b, dmState, func(s map[string]any) bool { return s["view"] == "list" && s["open"] == nil }, 10*time.Second)
	browsertest.NoSideScroll(t, b)
	browsertest.Screenshot(t, b, "b-list-375")

	// B unblocks A and goes to the lobby: its top bar counts A's next message live.
	clickOn(t, b, `.dm-conv[data-name="alice"]`)
	browsertest.WaitState(t, b, dmState, func(s map[string]any) bool { return s["open"] == "alice" && s["blocked"] == true }, 10*time.Second)
	clickOn(t, b, "#dm-block")
	browsertest.WaitState(t, b, dmState, func(s map[string]any) bool { return s["blocked"] == false }, 10*time.Second)
	browsertest.Navigate(t, b, n.base+"/")
	browsertest.WaitState(t, b, dmState, func(s map[string]any) bool { return s["status"] == "ready" && s["path"] == "/" }, 15*time.Second)
	browsertest.WaitState(t, b, `(() => { const l = document.getElementById('topbar-messages'); return {shown: !!l, badge: l ? l.dataset.unread : ''}; })()`,
		func(s map[string]any) bool { return s["shown"] == true && s["badge"] == "0" }, 10*time.Second)
	time.Sleep(500 * time.Millisecond) // the top bar's socket is open by now (its open asks the count again anyway)
	clickOn(t, a, "#dm-send")          // "are you there?" again, now accepted
	browsertest.WaitState(t, a, dmState, func(s map[string]any) bool { return s["lastText"] == "are you there?" && s["sendError"] == "" }, 10*time.Second)
	browsertest.WaitState(t, b, dmState, func(s map[string]any) bool { return s["topbarBadge"] == "1" }, 10*time.Second)
	browsertest.NoSideScroll(t, b)
	browsertest.Screenshot(t, b, "lobby-375")
}

// typeIn types keys into the messages page's composer.
func typeIn(t *testing.T, tab context.Context, keys string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("dm-input"), keys)); err != nil {
		t.Fatalf("typing %q: %v", keys, err)
	}
}

// pressEnter presses Enter in the focused element as a keyboard does: one
// key event, whose newline a keydown handler can prevent (chromedp.SendKeys
// sends the newline as a separate char event, which nothing can).
func pressEnter(t *testing.T, tab context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 10*time.Second)
	defer cancel()
	key := input.DispatchKeyEventParams{Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13}
	down, up := key, key
	down.Type, down.Text = input.DispatchKeyEventTypeKeyDown, "\r"
	up.Type = input.DispatchKeyEventTypeKeyUp
	for _, ev := range []input.DispatchKeyEventParams{down, up} {
		if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, ev); err != nil {
			t.Fatalf("pressing Enter: %v", err)
		}
	}
}

// setInput sets the composer's text as pasting would.
func setInput(t *testing.T, tab context.Context, text string) {
	t.Helper()
	_ = browsertest.Eval[bool](t, tab, fmt.Sprintf(`(() => { const i = document.getElementById('dm-input'); i.value = %q;
	  i.dispatchEvent(new Event('input')); return true; })()`, text))
}

// clickOn clicks the first element that sel matches.
func clickOn(t *testing.T, tab context.Context, sel string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("clicking %s: %v", sel, err)
	}
}

func firstConv(convs []any) (map[string]any, bool) {
	if len(convs) == 0 {
		return nil, false
	}
	c, ok := convs[0].(map[string]any)
	return c, ok
}
