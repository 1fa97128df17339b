package e2e

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/onair-live/onair/internal/browsertest"
)

// modState is window.state.chat and window.state.likes with a few facts about
// the page's DOM.
const modState = `(() => {
  const s = window.state || {};
  const c = s.chat || {};
  const input = document.getElementById('chat-input');
  const err = document.getElementById('chat-error');
  const note = document.getElementById('chat-note');
  return {status: c.status, lastText: c.lastText || '', lastError: c.lastError, deleted: c.deleted || 0,
    moderation: c.moderation || {}, likes: s.likes || {},
    inputDisabled: input ? input.disabled : null,
    errorText: err && !err.hidden ? err.textContent : '',
    noteText: note && !note.hidden ? note.textContent : '',
    reportRoomShown: !document.getElementById('report-room').hidden, kicked: !!c.kicked,
    ids: Array.from(document.querySelectorAll('#chat-list li[data-id]')).map((li) => li.dataset.id)};
})()`

// A streamer moderates their room's chat from the watch page while a viewer
// chats, likes and reports: likes reach the streamer, a deleted message leaves
// both tabs, a timed-out viewer's next message is refused as "banned", a
// viewer's moderation attempt shows the server's 403, and reports are stored.
func TestModerationBrowser(t *testing.T) {
	n := startNode(t, nil)
	createUser(t, n, "star", "streamer", "star-password")
	createUser(t, n, "fan", "viewer", "fan-password")
	createUser(t, n, "boss", "admin", "boss-password")
	starToken := login(t, n, "star", "star-password")
	fanToken := login(t, n, "fan", "fan-password")
	bossToken := login(t, n, "boss", "boss-password")
	browser := browsertest.Launch(t)
	num := browsertest.Num
	mod := func(s map[string]any) map[string]any { m, _ := s["moderation"].(map[string]any); return m }
	likes := func(s map[string]any) map[string]any { m, _ := s["likes"].(map[string]any); return m }

	star := loggedInTab(t, browser, n, starToken)
	fan := loggedInTab(t, browser, n, fanToken)
	ready := func(s map[string]any) bool {
		return s["status"] == "open" && s["inputDisabled"] == false && s["reportRoomShown"] != nil
	}
	for _, tab := range []context.Context{star, fan} {
		browsertest.Navigate(t, tab, n.base+"/watch/star")
		browsertest.WaitState(t, tab, modState, ready, 30*time.Second)
	}
	if st := browsertest.Eval[map[string]any](t, star, modState); st["reportRoomShown"] != false {
		t.Errorf("the streamer is offered to report their own room: %v", st)
	}
	browsertest.WaitState(t, fan, modState, func(s map[string]any) bool { return s["reportRoomShown"] == true }, 10*time.Second)

	say := func(tab context.Context, text string) {
		t.Helper()
		if err := chromedp.Do(tab,
			chromedp.SendKeys(chromedp.CSS("#chat-input"), text),
			chromedp.Click(chromedp.CSS("#chat-send")),
		); err != nil {
			t.Fatalf("sending %q: %v", text, err)
		}
	}
	click := func(tab context.Context, sel string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(tab, 10*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
			t.Fatalf("clicking %s: %v", sel, err)
		}
	}
	// target marks the newest line from name as li.test-target.
	target := func(tab context.Context, name string) {
		t.Helper()
		js := fmt.Sprintf(`(() => {
  document.querySelectorAll('.test-target').forEach((e) => e.classList.remove('test-target'));
  const l = [...document.querySelectorAll('#chat-list li[data-from=%q]')].pop();
  if (!l) return false;
  l.classList.add('test-target');
  l.scrollIntoView({block: 'nearest'});
  return true;
})()`, name)
		if !browsertest.Eval[bool](t, tab, js) {
			t.Fatalf("no line from %s", name)
		}
	}
	// menu opens the "⋯" menu of the newest line from name and clicks action.
	menu := func(tab context.Context, name, action string) {
		t.Helper()
		target(tab, name)
		click(tab, "#chat-list li.test-target .chat-menu-btn")
		click(tab, fmt.Sprintf(`#chat-list li.test-target .chat-menu [data-action=%q]`, action))
	}

	// The viewer chats and likes three times.
	say(fan, "hello from fan")
	st := browsertest.WaitState(t, star, modState, func(s map[string]any) bool { return s["lastText"] == "hello from fan" }, 15*time.Second)
	ids, _ := st["ids"].([]any)
	if len(ids) != 1 {
		t.Fatalf("the streamer's chat has lines %v, want one", ids)
	}
	msgID, _ := ids[0].(string)
	for range 3 {
		click(fan, "#like")
	}
	browsertest.WaitState(t, fan, modState, func(s map[string]any) bool {
		l := likes(s)
		return num(l, "sent") == 3 && num(l, "taps") == 3 && num(l, "pending") == 0
	}, 10*time.Second)
	st = browsertest.WaitState(t, star, modState, func(s map[string]any) bool { return num(likes(s), "total") >= 3 }, 10*time.Second)
	t.Logf("the streamer's likes: %v", likes(st))
	if got := browsertest.Eval[string](t, star, `document.getElementById('like-count').textContent`); got != strconv.Itoa(int(num(likes(st), "total"))) {
		t.Errorf("the streamer's like button says %q, want %v", got, num(likes(st), "total"))
	}
	browsertest.Screenshot(t, fan, "fan-likes-1280")

	// The streamer opens the menu of the viewer's line: a screenshot, then Delete.
	target(star, "fan")
	click(star, "#chat-list li.test-target .chat-menu-btn")
	items := browsertest.Eval[[]string](t, star, `[...document.querySelectorAll('#chat-list .chat-menu [data-action]')].map((b) => b.dataset.action)`)
	if strings.Join(items, ",") != "report,delete,timeout,ban,kick" {
		t.Errorf("the streamer's menu offers %v", items)
	}
	browsertest.Screenshot(t, star, "star-menu-1280")
	click(star, `#chat-list li.test-target .chat-menu [data-action="delete"]`)
	gone := func(s map[string]any) bool {
		ids, _ := s["ids"].([]any)
		for _, id := range ids {
			if id == msgID {
				return false
			}
		}
		return num(s, "deleted") >= 1
	}
	st = browsertest.WaitState(t, star, modState, gone, 10*time.Second)
	if m := mod(st); m["lastAction"] != "delete" || m["lastError"] != nil || browsertest.Str(st, "noteText") == "" {
		t.Errorf("after deleting, the streamer's state is %v", st)
	}
	browsertest.WaitState(t, fan, modState, gone, 10*time.Second)
	for _, tab := range []context.Context{star, fan} {
		if n := browsertest.Eval[int](t, tab, fmt.Sprintf(`document.querySelectorAll('#danmaku .bullet[data-id=%q]').length`, msgID)); n != 0 {
			t.Errorf("the deleted message still flies over the player (%d bullets)", n)
		}
	}

	// The streamer times the viewer out; the viewer's next message is refused.
	say(fan, "still here")
	browsertest.WaitState(t, star, modState, func(s map[string]any) bool { return s["lastText"] == "still here" }, 15*time.Second)
	menu(star, "fan", "timeout")
	browsertest.WaitState(t, star, modState, func(s map[string]any) bool { return mod(s)["lastAction"] == "timeout" }, 10*time.Second)
	say(fan, "can I talk?")
	st = browsertest.WaitState(t, fan, modState, func(s map[string]any) bool { return s["lastError"] == "banned" }, 10*time.Second)
	if browsertest.Str(st, "errorText") == "" {
		t.Errorf("the viewer's ban is not shown under the input: %v", st)
	}
	browsertest.Screenshot(t, fan, "fan-banned-1280")

	// Kick closes the viewer's chat session (4001): the page does not come
	// straight back and says why; a reload joins again.
	menu(star, "fan", "kick")
	browsertest.WaitState(t, star, modState, func(s map[string]any) bool { return mod(s)["lastAction"] == "kick" }, 10*time.Second)
	browsertest.WaitState(t, fan, modState, func(s map[string]any) bool { return s["kicked"] == true && s["status"] == "closed" }, 20*time.Second)
	time.Sleep(1500 * time.Millisecond) // longer than the first reconnect backoff
	if st := browsertest.Eval[map[string]any](t, fan, "window.state.chat"); st["status"] != "closed" {
		t.Errorf("the kicked page reconnected: %v", st)
	}
	browsertest.Navigate(t, fan, n.base+"/watch/star")
	browsertest.WaitState(t, fan, modState, func(s map[string]any) bool { return s["status"] == "open" }, 20*time.Second)

	// The viewer tries to delete the streamer's message: the server's 403 shows
	// inline and the moderation items go away.
	say(star, "welcome all")
	browsertest.WaitState(t, fan, modState, func(s map[string]any) bool { return s["lastText"] == "welcome all" }, 15*time.Second)
	menu(fan, "star", "delete")
	st = browsertest.WaitState(t, fan, modState, func(s map[string]any) bool { return mod(s)["lastError"] != nil }, 10*time.Second)
	if m := mod(st); num(m, "errorStatus") != 403 || m["canModerate"] != false || !strings.Contains(browsertest.Str(st, "noteText"), "only the room's streamer") {
		t.Errorf("the viewer's refused delete: %v", st)
	}
	// Report the streamer's message, then the room.
	click(fan, "#chat-list li.test-target .chat-menu [data-action=\"report\"]")
	reportVia(t, fan, "#chat-list li.test-target .reason-form", "spam in chat")
	browsertest.WaitState(t, fan, modState, func(s map[string]any) bool { return mod(s)["lastAction"] == "report" }, 10*time.Second)
	click(fan, "#report-room")
	browsertest.Screenshot(t, fan, "fan-report-1280")
	reportVia(t, fan, "#report-room-form", "the stream breaks the rules")
	browsertest.WaitState(t, fan, modState, func(s map[string]any) bool {
		return mod(s)["lastAction"] == "report_room" && mod(s)["lastError"] == nil
	}, 10*time.Second)

	status, out, _ := api(t, n, "GET", "/api/admin/reports", bossToken, nil)
	reports, _ := out["reports"].([]any)
	var withMsg, room int
	for _, r := range reports {
		m, _ := r.(map[string]any)
		if m["room"] != "star" {
			continue
		}
		if m["message_id"] != nil {
			withMsg++
		} else if m["reason"] == "the stream breaks the rules" {
			room++
		}
	}
	if status != 200 || withMsg != 1 || room != 1 {
		t.Errorf("the stored reports: %d %v, want one about a message and one about the room", status, out)
	}

	// A ban asks for a reason (prefilled) first.
	menu(star, "fan", "ban")
	reportVia(t, star, "#chat-list li.test-target .reason-form", "")
	browsertest.WaitState(t, star, modState, func(s map[string]any) bool {
		return mod(s)["lastAction"] == "ban" && mod(s)["lastError"] == nil
	}, 10*time.Second)

	// Layout at 1280 and 375 px, with a menu open on the streamer's side.
	say(star, "one more line to moderate")
	browsertest.WaitState(t, star, modState, func(s map[string]any) bool { return s["lastText"] == "one more line to moderate" }, 10*time.Second)
	click(star, "#like")
	target(star, "fan")
	click(star, "#chat-list li.test-target .chat-menu-btn")
	browsertest.Screenshot(t, star, "star-1280")
	browsertest.Screenshot(t, fan, "fan-1280")
	browsertest.NoSideScroll(t, star)
	browsertest.NoSideScroll(t, fan)
	for _, tab := range []context.Context{star, fan} {
		browsertest.Viewport(t, tab, 375, 800, true)
	}
	time.Sleep(300 * time.Millisecond)
	browsertest.NoSideScroll(t, star)
	browsertest.NoSideScroll(t, fan)
	browsertest.FullScreenshot(t, star, "star-375")
	browsertest.FullScreenshot(t, fan, "fan-375")
}

// loggedInTab opens a private tab whose session cookie is token.
func loggedInTab(t *testing.T, browser context.Context, n *node, token string) context.Context {
	t.Helper()
	tab := isolatedTab(t, browser)
	u, err := url.Parse(n.base)
	if err != nil {
		t.Fatal(err)
	}
	httpOnly := true
	if _, err := chromedp.Call(tab, network.SetCookie, network.SetCookieParams{
		Name: "onair_session", Value: token, URL: n.base + "/", Domain: u.Hostname(), Path: "/",
		HTTPOnly: &httpOnly, SameSite: network.CookieSameSiteLax,
	}); err != nil {
		t.Fatalf("setting the session cookie: %v", err)
	}
	return tab
}

// reportVia types reason (unless empty) into the reason form at sel and submits it.
func reportVia(t *testing.T, tab context.Context, sel, reason string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 10*time.Second)
	defer cancel()
	steps := []chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(sel + " .reason-submit"))}
	if reason != "" {
		steps = append([]chromedp.Action[chromedp.Void]{chromedp.SendKeys(chromedp.CSS(sel+" input"), reason)}, steps...)
	}
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("reporting via %s: %v", sel, err)
	}
}
