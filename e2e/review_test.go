package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/browsertest"
)

// A message with a word on the review list is held, not shown: the room's
// moderators see it in the queue, an approval publishes it as from its sender
// (once, however many moderators click), a rejection never shows it; both are
// audited. Viewers cannot see the queue.
func TestHeldMessageReview(t *testing.T) {
	n := startNode(t, nil)
	createUser(t, n, "revadmin", "admin", "revadmin-password")
	createUser(t, n, "revhost", "streamer", "revhost-password")
	createUser(t, n, "revmod", "viewer", "revmod-password")
	createUser(t, n, "revfan", "viewer", "revfan-password")
	admin := login(t, n, "revadmin", "revadmin-password")
	host, mod, fan := login(t, n, "revhost", "revhost-password"), login(t, n, "revmod", "revmod-password"), login(t, n, "revfan", "revfan-password")
	if status, out, _ := api(t, n, "PUT", "/api/admin/words", admin, map[string]any{"words": []map[string]string{{"word": "sketchy", "action": "review"}}}); status != 200 {
		t.Fatalf("set words: %d %v", status, out)
	}
	if status, _, _ := api(t, n, "POST", "/api/rooms/revhost/moderators/revmod", host, nil); status != 204 {
		t.Fatalf("appoint: %d", status)
	}
	sender := dialRoom(t, n, "revhost", fan, "")
	reader := dialRoom(t, n, "revhost", "", "")
	time.Sleep(200 * time.Millisecond)
	sender.send(t, "chat", map[string]string{"text": "a s.k.e.t.c.h.y link"})
	if got := errorCode(sender.next(t, "error")); got != "held_for_review" {
		t.Fatalf("held message: %s", got)
	}
	sender.send(t, "danmaku", map[string]string{"text": "SKETCHY again", "color": "#00ff00"})
	sender.next(t, "error")

	if status, _, _ := api(t, n, "GET", "/api/rooms/revhost/held", fan, nil); status != 403 {
		t.Fatalf("a viewer reading the queue: %d", status)
	}
	if status, _, _ := api(t, n, "GET", "/api/rooms/revhost/held", "", nil); status != 401 {
		t.Fatalf("anonymous reading the queue: %d", status)
	}
	status, out, _ := api(t, n, "GET", "/api/rooms/revhost/held", mod, nil)
	list, _ := out["messages"].([]any)
	if status != 200 || len(list) != 2 {
		t.Fatalf("the moderator's queue: %d %v", status, out)
	}
	first, second := list[0].(map[string]any), list[1].(map[string]any)
	if first["type"] != "chat" || first["body"].(map[string]any)["text"] != "a s.k.e.t.c.h.y link" || first["from"].(map[string]any)["name"] != "revfan" {
		t.Fatalf("first held message %v", first)
	}
	if second["type"] != "danmaku" || second["body"].(map[string]any)["color"] != "#00ff00" {
		t.Fatalf("second held message %v", second)
	}
	decide := func(token, id, action string) int {
		status, _, _ := api(t, n, "POST", "/api/rooms/revhost/held/"+id, token, map[string]string{"action": action})
		return status
	}
	if got := decide(fan, first["id"].(string), "approve"); got != 403 {
		t.Fatalf("a viewer approving: %d", got)
	}
	if got := decide(mod, first["id"].(string), "publish"); got != 400 {
		t.Fatalf("an unknown action: %d", got)
	}
	if got := decide(mod, first["id"].(string), "approve"); got != 204 {
		t.Fatalf("approve: %d", got)
	}
	if got := decide(host, first["id"].(string), "approve"); got != 404 {
		t.Fatalf("approving twice: %d", got)
	}
	msg := reader.next(t, "chat", "danmaku")
	if text(msg) != "a s.k.e.t.c.h.y link" || msg.From == nil || msg.From.Name != "revfan" || msg.Type != "chat" {
		t.Fatalf("the approved message arrived as %+v %s", msg, msg.Body)
	}
	if got := decide(host, second["id"].(string), "reject"); got != 204 {
		t.Fatalf("reject: %d", got)
	}
	_, out, _ = api(t, n, "GET", "/api/rooms/revhost/held", host, nil)
	if list, _ := out["messages"].([]any); len(list) != 0 {
		t.Fatalf("the queue after deciding both: %v", out)
	}
	_, out, _ = api(t, n, "GET", "/api/rooms/revhost/messages", "", nil)
	if hist, _ := out["messages"].([]any); len(hist) != 1 || strings.Contains(jsonString(t, hist), "SKETCHY") {
		t.Fatalf("the room's history: %v, want only the approved message", out)
	}
	_, out, _ = api(t, n, "GET", "/api/admin/audit", admin, nil)
	if s := jsonString(t, out); !strings.Contains(s, `"held_reject"`) || !strings.Contains(s, `"held_approve"`) {
		t.Fatalf("audit log lacks the decisions: %s", s)
	}
}

// A moderator lifts only the bans moderators set; the streamer's ban stays until
// the streamer (or an admin) lifts it.
func TestModeratorCannotLiftStreamersBan(t *testing.T) {
	n := startNode(t, nil)
	createUser(t, n, "liftroom", "streamer", "liftroom-password")
	createUser(t, n, "liftmod", "viewer", "liftmod-password")
	createUser(t, n, "lifted", "viewer", "lifted-password")
	host, mod := login(t, n, "liftroom", "liftroom-password"), login(t, n, "liftmod", "liftmod-password")
	if status, _, _ := api(t, n, "POST", "/api/rooms/liftroom/moderators/liftmod", host, nil); status != 204 {
		t.Fatalf("appoint: %d", status)
	}
	ban := func(token string) {
		t.Helper()
		if status, out, _ := api(t, n, "POST", "/api/rooms/liftroom/bans", token, map[string]any{"name": "lifted", "minutes": 30, "reason": "flooding"}); status != 204 {
			t.Fatalf("ban: %d %v", status, out)
		}
	}
	lift := func(token string) (int, map[string]any) {
		status, out, _ := api(t, n, "DELETE", "/api/rooms/liftroom/bans/lifted", token, nil)
		return status, out
	}
	ban(host)
	if status, out := lift(mod); status != 403 || !strings.Contains(jsonString(t, out), "streamer set this ban") {
		t.Fatalf("a moderator lifting the streamer's ban: %d %v", status, out)
	}
	if status, _ := lift(host); status != 204 {
		t.Fatalf("the streamer lifting: %d", status)
	}
	ban(mod)
	if status, _ := lift(mod); status != 204 {
		t.Fatalf("a moderator lifting a moderator's ban: %d", status)
	}
}

func jsonString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The streamer's studio shows held messages in the chat panel; Approve puts
// the message in the chat as from its sender, Reject drops it. A viewer's page
// never shows the queue.
func TestReviewQueueBrowser(t *testing.T) {
	n := startNode(t, nil)
	createUser(t, n, "qadmin", "admin", "qadmin-password")
	createUser(t, n, "qhost", "streamer", "qhost-password")
	createUser(t, n, "qfan", "viewer", "qfan-password")
	if status, out, _ := api(t, n, "PUT", "/api/admin/words", login(t, n, "qadmin", "qadmin-password"), map[string]any{"words": []map[string]string{{"word": "sketchy", "action": "review"}}}); status != 200 {
		t.Fatalf("set words: %d %v", status, out)
	}
	fanToken := login(t, n, "qfan", "qfan-password")
	browser := browsertest.Launch(t)
	studio := loggedInTab(t, browser, n, login(t, n, "qhost", "qhost-password"))
	browsertest.Navigate(t, studio, n.base+"/studio/qhost")
	browsertest.WaitState(t, studio, "window.state.chat", func(s map[string]any) bool { return s["status"] == "open" }, 30*time.Second)
	fanTab := loggedInTab(t, browser, n, fanToken)
	browsertest.Navigate(t, fanTab, n.base+"/watch/qhost")
	browsertest.WaitState(t, fanTab, "window.state.chat", func(s map[string]any) bool { return s["status"] == "open" }, 30*time.Second)

	fan := dialRoom(t, n, "qhost", fanToken, "")
	const xss = `sketchy <img src=x onerror="window.pwned=1">`
	fan.send(t, "chat", map[string]string{"text": xss})
	fan.next(t, "error")
	fan.send(t, "chat", map[string]string{"text": "very sketchy"})
	fan.next(t, "error")
	browsertest.WaitState(t, studio, "window.state.chat.review", func(s map[string]any) bool {
		return s["enabled"] == true && browsertest.Num(s, "count") == 2
	}, 20*time.Second)
	_ = browsertest.Eval[bool](t, studio, `document.getElementById('review-toggle').click(), true`)
	time.Sleep(200 * time.Millisecond)
	browsertest.Screenshot(t, studio, "studio-review-queue")
	if got := browsertest.Eval[string](t, studio, `document.querySelector('#review-list .review-item .chat-text').textContent`); got != xss {
		t.Errorf("the queue shows %q, want the literal text", got)
	}
	_ = browsertest.Eval[bool](t, studio, `document.querySelector('#review-list .review-item [data-action=approve]').click(), true`)
	browsertest.WaitState(t, studio, "window.state.chat", func(s map[string]any) bool { return s["lastText"] == xss }, 15*time.Second)
	browsertest.WaitState(t, fanTab, "window.state.chat", func(s map[string]any) bool { return s["lastText"] == xss }, 15*time.Second)
	_ = browsertest.Eval[bool](t, studio, `document.querySelector('#review-list .review-item [data-action=reject]').click(), true`)
	browsertest.WaitState(t, studio, "window.state.chat.review", func(s map[string]any) bool {
		return browsertest.Num(s, "count") == 0 && s["lastAction"] == "reject"
	}, 15*time.Second)
	if hidden := browsertest.Eval[bool](t, studio, `document.getElementById('chat-review').hidden`); !hidden {
		t.Error("an empty queue is still shown")
	}
	for _, tab := range []context.Context{studio, fanTab} {
		if pwned := browsertest.Eval[bool](t, tab, `window.pwned !== undefined || document.querySelectorAll('#chat img').length > 0`); pwned {
			t.Error("the held message's markup became HTML")
		}
	}
	if st := browsertest.Eval[map[string]any](t, fanTab, "window.state.chat.review"); st["enabled"] != false {
		t.Errorf("a viewer's page has the review queue: %v", st)
	}
	if got := browsertest.Eval[string](t, fanTab, "window.state.chat.lastText"); got != xss {
		t.Errorf("the viewer's last message is %q after the rejection", got)
	}
}
