package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	client "github.com/onair-live/onair/clients/go"
	"github.com/onair-live/onair/cmd/onair/app"
	"github.com/onair-live/onair/room"
)

// chatClient is a WebSocket room client that collects every envelope it gets.
type chatClient struct {
	conn *websocket.Conn
	got  chan room.Envelope
	end  error // why reading stopped; set before got is closed
}

func dialRoom(t *testing.T, n *node, id, token, after string) *chatClient {
	t.Helper()
	u := "ws" + strings.TrimPrefix(n.base, "http") + "/ws/rooms/" + id + "?after=" + after
	if token != "" {
		u += "&token=" + token
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	c := &chatClient{conn: conn, got: make(chan room.Envelope, 1024)}
	go func() {
		for {
			_, data, err := conn.Read(context.Background())
			if err != nil {
				c.end = err
				close(c.got)
				return
			}
			var batch []room.Envelope
			if err := json.Unmarshal(data, &batch); err != nil {
				t.Errorf("frame is not an array of envelopes: %q", data)
				continue
			}
			for _, e := range batch {
				c.got <- e
			}
		}
	}()
	t.Cleanup(func() { conn.CloseNow() })
	return c
}

func (c *chatClient) send(t *testing.T, typ string, body any) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"type": typ, "body": body})
	if err := c.conn.Write(context.Background(), websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
}

// next returns the next envelope of one of the types, skipping others.
func (c *chatClient) next(t *testing.T, types ...string) room.Envelope {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e, ok := <-c.got:
			if !ok {
				t.Fatal("connection closed")
			}
			for _, ty := range types {
				if e.Type == ty {
					return e
				}
			}
		case <-timeout:
			t.Fatalf("no %v envelope within 5 s", types)
		}
	}
}

func text(e room.Envelope) string {
	var b room.ChatBody
	_ = json.Unmarshal(e.Body, &b)
	return b.Text
}

func errorCode(e room.Envelope) string {
	var b struct{ Code string }
	_ = json.Unmarshal(e.Body, &b)
	return b.Code
}

// Chat over WebSocket: a logged-in user's message reaches everyone in the room
// with server-assigned id and ts; refusals go to the sender only; history on
// join, without what a reconnecting client already has.
func TestChatOverWebSocket(t *testing.T) {
	n := startNode(t, func(c *app.Config) { c.Chat.Burst = 6 })
	createUser(t, n, "talker", "viewer", "talker-password")
	token := login(t, n, "talker", "talker-password")
	reader := dialRoom(t, n, "lounge", "", "")
	talker := dialRoom(t, n, "lounge", token, "")
	time.Sleep(100 * time.Millisecond) // both joined before the first message

	talker.send(t, "chat", map[string]string{"text": "hello <img src=x onerror=alert(1)>"})
	got := reader.next(t, "chat")
	if text(got) != "hello <img src=x onerror=alert(1)>" || got.ID == "" || got.TS == 0 || got.From == nil || got.From.Name != "talker" || got.V != 1 || got.Room != "lounge" {
		t.Fatalf("envelope %+v (%s)", got, got.Body)
	}
	if e := talker.next(t, "chat"); e.ID != got.ID {
		t.Fatalf("the sender got %s, want its own message %s", e.ID, got.ID)
	}
	talker.send(t, "danmaku", map[string]string{"text": "flying", "color": "#FF0000", "position": "sideways"})
	d := reader.next(t, "danmaku")
	var db room.ChatBody
	_ = json.Unmarshal(d.Body, &db)
	if db.Text != "flying" || db.Color != "#ff0000" || db.Position != "scroll" {
		t.Fatalf("danmaku body %+v", db)
	}

	// Refusals reach only the sender.
	talker.send(t, "chat", map[string]string{"text": strings.Repeat("x", 201)})
	if c := errorCode(talker.next(t, "error")); c != "too_long" {
		t.Fatalf("long message: %s", c)
	}
	talker.send(t, "teleport", map[string]string{})
	if c := errorCode(talker.next(t, "error")); c != "unknown_type" {
		t.Fatalf("unknown type: %s", c)
	}
	// A gift in a room that has no streamer to receive it.
	talker.send(t, "gift", map[string]any{"gift": "rose", "count": 1, "idempotency_key": "g1"})
	if c := errorCode(talker.next(t, "error")); c != "not_found" {
		t.Fatalf("a gift in a room without a streamer: %s", c)
	}
	talker.send(t, "chat", map[string]string{"text": "third"})
	talker.send(t, "chat", map[string]string{"text": "third"})
	if c := errorCode(talker.next(t, "error")); c != "duplicate" {
		t.Fatalf("duplicate: %s", c)
	}
	talker.send(t, "chat", map[string]string{"text": "fourth"})
	if c := errorCode(talker.next(t, "error")); c != "slow_down" {
		t.Fatalf("burst of 6 exceeded (every frame costs a token): %s", c)
	}
	reader.send(t, "chat", map[string]string{"text": "anonymous"})
	if c := errorCode(reader.next(t, "error")); c != "login_required" {
		t.Fatalf("anonymous send: %s", c)
	}
	select {
	case e := <-reader.got:
		if e.Type == "error" {
			t.Fatalf("the reader got the talker's error: %s", e.Body)
		}
	case <-time.After(200 * time.Millisecond):
	}

	// History on join: what was said, in order; after an id, only what came later.
	late := dialRoom(t, n, "lounge", "", "")
	first, second := late.next(t, "chat", "danmaku"), late.next(t, "chat", "danmaku")
	if first.ID != got.ID || second.ID != d.ID {
		t.Fatalf("history %s %s, want %s %s", first.ID, second.ID, got.ID, d.ID)
	}
	again := dialRoom(t, n, "lounge", "", got.ID)
	if e := again.next(t, "chat", "danmaku"); e.ID == got.ID {
		t.Fatal("a reconnecting client got a message it already had")
	}
	// The same history over REST.
	status, out, _ := api(t, n, "GET", "/api/rooms/lounge/messages?after="+got.ID, "", nil)
	msgs, _ := out["messages"].([]any)
	if status != 200 || len(msgs) == 0 || msgs[0].(map[string]any)["id"] != d.ID {
		t.Fatalf("GET messages after %s: %d %v", got.ID, status, out)
	}
}

// Two nodes on one NATS: a message posted on node A reaches a client on node B.
func TestChatAcrossNodes(t *testing.T) {
	a, b := cluster(t, false, false)
	createUser(t, a, "nodeuser", "viewer", "nodeuser-password")
	token := login(t, a, "nodeuser", "nodeuser-password")
	onB := dialRoom(t, b, "bridge", "", "")
	onA := dialRoom(t, a, "bridge", token, "")
	time.Sleep(100 * time.Millisecond)
	onA.send(t, "chat", map[string]string{"text": "across"})
	if e := onB.next(t, "chat"); text(e) != "across" {
		t.Fatalf("node B got %q", text(e))
	}
}

// The WHEP data channel and the WebSocket are two doors to one room: a logged-in
// viewer chats over the data channel, a WebSocket client sees it, and back.
func TestChatOverDataChannel(t *testing.T) {
	n := startNode(t, nil)
	createUser(t, n, "dcuser", "viewer", "dcuser-password")
	token := login(t, n, "dcuser", "dcuser-password")
	publishSynthetic(t, n, "dcroom", "k-dcroom-1", 30, false)
	frames := make(chan []byte, 64)
	o := n.opts("dcroom", token)
	v, err := client.Watch(testContext(t, 10*time.Second), o, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close() })
	v.OnMessage(func(b []byte) { frames <- b })
	eventually(t, 10*time.Second, "the data channel", func() bool { return v.Stats().DataChannelOpen })
	ws := dialRoom(t, n, "dcroom", "", "")
	time.Sleep(200 * time.Millisecond)
	if err := v.Send(`{"type":"chat","body":{"text":"from the data channel"}}`); err != nil {
		t.Fatal(err)
	}
	if e := ws.next(t, "chat", "danmaku"); text(e) != "from the data channel" || e.From == nil || e.From.Name != "dcuser" {
		t.Fatalf("WebSocket got %+v", e)
	}
	other := dialRoom(t, n, "dcroom", login(t, n, "dcuser", "dcuser-password"), "")
	other.send(t, "chat", map[string]string{"text": "from the websocket"})
	deadline := time.After(5 * time.Second)
	for {
		select {
		case f := <-frames:
			var batch []room.Envelope
			if err := json.Unmarshal(f, &batch); err != nil {
				t.Fatalf("data channel frame %q", f)
			}
			for _, e := range batch {
				if text(e) == "from the websocket" {
					return
				}
			}
		case <-deadline:
			t.Fatal("the data channel never got the WebSocket's message")
		}
	}
}

// Likes are summed: ten taps arrive as fewer like messages whose counts add up
// to ten, for everyone in the room.
func TestLikesAreAggregated(t *testing.T) {
	n := startNode(t, nil)
	createUser(t, n, "liker", "viewer", "liker-password")
	liker := dialRoom(t, n, "hearts", login(t, n, "liker", "liker-password"), "")
	reader := dialRoom(t, n, "hearts", "", "")
	time.Sleep(100 * time.Millisecond)
	for range 10 {
		liker.send(t, "like", map[string]int{"count": 1})
	}
	liker.send(t, "like", map[string]int{"count": 500})
	if c := errorCode(liker.next(t, "error")); c != "bad_message" {
		t.Fatalf("a like of 500: %s", c)
	}
	sum, events := 0, 0
	for sum < 10 {
		var b room.LikeBody
		_ = json.Unmarshal(reader.next(t, "like").Body, &b)
		sum += b.Count
		events++
	}
	if sum != 10 || events >= 10 {
		t.Fatalf("likes: %d in %d messages", sum, events)
	}
}

// The admin's word list applies on every node at once: blocked words are refused
// however they are disguised, masked words are starred for everyone, and
// review words are held.
func TestWordFilterAcrossNodes(t *testing.T) {
	a, b := cluster(t, false, false)
	createUser(t, a, "wordadmin", "admin", "wordadmin-password")
	admin := login(t, a, "wordadmin", "wordadmin-password")
	words := map[string]any{"words": []map[string]string{
		{"word": "badword", "action": "block"}, {"word": "shh", "action": "mask"}, {"word": "敏感词", "action": "review"},
	}}
	if status, out, _ := api(t, a, "PUT", "/api/admin/words", admin, words); status != 200 {
		t.Fatalf("set words: %d %v", status, out)
	}
	if status, out, _ := api(t, a, "PUT", "/api/admin/words", admin, map[string]any{"words": []map[string]string{{"word": "x", "action": "nuke"}}}); status != 400 {
		t.Fatalf("bad action: %d %v", status, out)
	}
	createUser(t, b, "chatter", "viewer", "chatter-password")
	chatter := dialRoom(t, b, "clean", login(t, b, "chatter", "chatter-password"), "")
	reader := dialRoom(t, b, "clean", "", "")
	time.Sleep(200 * time.Millisecond)
	for _, c := range []struct{ text, code string }{
		{"this is a B.A.D w o r d", "blocked_word"},
		{"ｂａｄｗｏｒｄ", "blocked_word"},
		{"没有敏，感 词吗", "held_for_review"},
	} {
		chatter.send(t, "chat", map[string]string{"text": c.text})
		if got := errorCode(chatter.next(t, "error")); got != c.code {
			t.Errorf("%q: %s, want %s", c.text, got, c.code)
		}
	}
	chatter.send(t, "chat", map[string]string{"text": "Shhh! Be quiet"})
	if got := text(reader.next(t, "chat")); got != "****! Be quiet" {
		t.Fatalf("masked text %q", got)
	}
	_, out, _ := api(t, a, "GET", "/api/admin/words", admin, nil)
	if list, _ := out["words"].([]any); len(list) != 3 {
		t.Fatalf("word list: %v", out)
	}
}

// The room's streamer deletes a message: everyone gets a `delete` naming it, and
// a later joiner's history carries it too; a viewer may not delete.
func TestDeleteMessage(t *testing.T) {
	n := startNode(t, nil)
	createUser(t, n, "host", "streamer", "host-password")
	createUser(t, n, "rude", "viewer", "rude-password")
	host, rude := login(t, n, "host", "host-password"), login(t, n, "rude", "rude-password")
	watcher := dialRoom(t, n, "host", "", "")
	sender := dialRoom(t, n, "host", rude, "")
	time.Sleep(100 * time.Millisecond)
	sender.send(t, "chat", map[string]string{"text": "something rude"})
	msg := watcher.next(t, "chat")
	if status, _, _ := api(t, n, "DELETE", "/api/rooms/host/messages/"+msg.ID, rude, nil); status != 403 {
		t.Fatalf("a viewer deleting: %d", status)
	}
	if status, out, _ := api(t, n, "DELETE", "/api/rooms/host/messages/"+msg.ID, host, nil); status != 204 {
		t.Fatalf("the streamer deleting: %d %v", status, out)
	}
	del := watcher.next(t, "delete")
	var body struct{ ID string }
	_ = json.Unmarshal(del.Body, &body)
	if body.ID != msg.ID || del.From == nil || del.From.Name != "host" {
		t.Fatalf("delete envelope %+v %s", del, del.Body)
	}
	late := dialRoom(t, n, "host", "", "")
	late.next(t, "chat")
	if e := late.next(t, "delete"); e.ID != del.ID {
		t.Fatalf("history lacks the delete")
	}
	if status, _, _ := api(t, n, "DELETE", "/api/rooms/host/messages/short", host, nil); status != 400 {
		t.Fatalf("a bad id: %d", status)
	}
}

// The streamer appoints a moderator; the moderator times a user out of the chat
// (refused with the reason), cannot ban a fellow moderator, deletes a message,
// and lifts the timeout; every action lands in the audit log.
func TestRoomModeration(t *testing.T) {
	n := startNode(t, nil)
	createUser(t, n, "stage", "streamer", "stage-password")
	createUser(t, n, "helper", "viewer", "helper-password")
	createUser(t, n, "helper2", "viewer", "helper2-password")
	createUser(t, n, "troll", "viewer", "troll-password")
	createUser(t, n, "auditor", "admin", "auditor-password")
	owner, mod, troll := login(t, n, "stage", "stage-password"), login(t, n, "helper", "helper-password"), login(t, n, "troll", "troll-password")
	for _, name := range []string{"helper", "helper2"} {
		if status, out, _ := api(t, n, "POST", "/api/rooms/stage/moderators/"+name, owner, nil); status != 204 {
			t.Fatalf("appoint %s: %d %v", name, status, out)
		}
	}
	if status, _, _ := api(t, n, "POST", "/api/rooms/stage/moderators/troll", mod, nil); status != 403 {
		t.Fatalf("a moderator appointing: %d", status)
	}
	ban := func(token, name string, minutes int) int {
		status, _, _ := api(t, n, "POST", "/api/rooms/stage/bans", token, map[string]any{"name": name, "minutes": minutes, "reason": "spamming links"})
		return status
	}
	if got := ban(troll, "helper", 5); got != 403 {
		t.Fatalf("a viewer banning: %d", got)
	}
	if got := ban(mod, "helper2", 5); got != 403 {
		t.Fatalf("a moderator banning a moderator: %d", got)
	}
	if got := ban(mod, "stage", 5); got != 403 {
		t.Fatalf("banning the streamer: %d", got)
	}
	if got := ban(mod, "troll", 10); got != 204 {
		t.Fatalf("timeout: %d", got)
	}
	ws := dialRoom(t, n, "stage", troll, "")
	ws.send(t, "chat", map[string]string{"text": "buy followers"})
	e := ws.next(t, "error")
	var body struct{ Code, Message string }
	_ = json.Unmarshal(e.Body, &body)
	if body.Code != "banned" || !strings.Contains(body.Message, "timed out") || !strings.Contains(body.Message, "spamming links") {
		t.Fatalf("timed-out user: %+v", body)
	}
	if status, _, _ := api(t, n, "DELETE", "/api/rooms/stage/bans/troll", mod, nil); status != 204 {
		t.Fatalf("lift: %d", status)
	}
	ws.send(t, "chat", map[string]string{"text": "sorry"})
	msg := ws.next(t, "chat")
	if status, _, _ := api(t, n, "DELETE", "/api/rooms/stage/messages/"+msg.ID, mod, nil); status != 204 {
		t.Fatalf("moderator deletes: %d", status)
	}
	_, out, _ := api(t, n, "GET", "/api/admin/audit", login(t, n, "auditor", "auditor-password"), nil)
	entries, _ := out["entries"].([]any)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.(map[string]any)["action"].(string))
	}
	if strings.Join(actions, " ") != "delete_message room_unban room_timeout moderator_add moderator_add" {
		t.Fatalf("audit log %v", actions)
	}
}

// A ban on node A closes the user's socket and peer connection on node B, and
// keeps them out; a kick closes them without a ban.
func TestBanKicksAcrossNodes(t *testing.T) {
	a, b := cluster(t, true, false)
	room := fmt.Sprintf("kickroom%d", time.Now().UnixNano()%1_000_000)
	host := createUser(t, a, room, "streamer", "host-password")
	createUser(t, a, "pest", "viewer", "pest-password")
	hostToken, pest := login(t, a, room, "host-password"), login(t, b, "pest", "pest-password")
	publishSynthetic(t, b, room, host["stream_key"], 30, false)

	ws := dialRoom(t, b, room, pest, "")
	v := watch(t, b, room, pest, 1)
	if err := v.WaitConnected(testContext(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := api(t, a, "POST", "/api/rooms/"+room+"/kick/pest", hostToken, nil); status != 204 {
		t.Fatalf("kick: %d", status)
	}
	waitClosed := func(what string, c *chatClient) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case _, ok := <-c.got:
				if !ok {
					if code := websocket.CloseStatus(c.end); code != client.CloseKicked {
						t.Fatalf("%s was closed with %v, want 4001 (kicked: do not reconnect)", what, c.end)
					}
					return
				}
			case <-deadline:
				t.Fatalf("%s was not closed", what)
			}
		}
	}
	waitClosed("the kicked socket", ws)
	eventually(t, 5*time.Second, "the kicked viewer's peer connection to close", func() bool { return b.app.SFU().Stats().Subscribers == 0 })

	// Kicked, not banned: they may come back. Banned: removed again and refused.
	ws = dialRoom(t, b, room, pest, "")
	if status, out, _ := api(t, a, "POST", "/api/rooms/"+room+"/bans", hostToken, map[string]any{"name": "pest", "reason": "harassment"}); status != 204 {
		t.Fatalf("ban: %d %v", status, out)
	}
	waitClosed("the banned socket", ws)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(b.base, "http")+"/ws/rooms/"+room+"?token="+pest, nil)
	if err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("banned user's socket: %v %v", err, resp)
	}
	if _, err := client.Watch(testContext(t, 10*time.Second), b.opts(room, pest), 1); err == nil || !strings.Contains(err.Error(), "banned") {
		t.Fatalf("banned user's WHEP: %v", err)
	}

	// A platform ban closes the user's sessions in every room.
	createUser(t, a, "menace", "viewer", "menace-password")
	createUser(t, a, "root"+room, "superadmin", "root-password")
	menace := login(t, b, "menace", "menace-password")
	other := dialRoom(t, b, "elsewhere", menace, "")
	if status, _, _ := api(t, a, "POST", "/api/admin/users/menace/ban", login(t, a, "root"+room, "root-password"), map[string]string{"reason": "platform rules"}); status != 204 {
		t.Fatalf("platform ban: %d", status)
	}
	waitClosed("the platform-banned user's socket", other)
}

// A viewer reports a message; admins see it in the queue and resolve it.
func TestReports(t *testing.T) {
	n := startNode(t, nil)
	createUser(t, n, "reported", "streamer", "reported-password")
	createUser(t, n, "witness", "viewer", "witness-password")
	createUser(t, n, "checker", "admin", "checker-password")
	witness, admin := login(t, n, "witness", "witness-password"), login(t, n, "checker", "checker-password")
	body := map[string]string{"room": "reported", "message_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "reason": "threats"}
	if status, _, _ := api(t, n, "POST", "/api/reports", "", body); status != 401 {
		t.Fatalf("anonymous report: %d", status)
	}
	status, out, _ := api(t, n, "POST", "/api/reports", witness, body)
	if status != 201 || out["state"] != "open" {
		t.Fatalf("report: %d %v", status, out)
	}
	id := out["id"].(string)
	if status, _, _ := api(t, n, "POST", "/api/reports", witness, map[string]string{"room": "nowhere", "reason": "x"}); status != 404 {
		t.Fatalf("report of an unknown room: %d", status)
	}
	if status, _, _ := api(t, n, "GET", "/api/admin/reports", witness, nil); status != 403 {
		t.Fatalf("a viewer reading the queue: %d", status)
	}
	_, out, _ = api(t, n, "GET", "/api/admin/reports", admin, nil)
	if list := out["reports"].([]any); len(list) != 1 || list[0].(map[string]any)["reason"] != "threats" {
		t.Fatalf("queue %v", out)
	}
	if status, _, _ := api(t, n, "POST", "/api/admin/reports/"+id+"/resolve", admin, nil); status != 204 {
		t.Fatalf("resolve: %d", status)
	}
	_, out, _ = api(t, n, "GET", "/api/admin/reports?state=resolved", admin, nil)
	if list := out["reports"].([]any); len(list) != 1 {
		t.Fatalf("resolved %v", out)
	}
	for range 5 {
		api(t, n, "POST", "/api/reports", witness, map[string]string{"room": "reported", "reason": "again"})
	}
	if status, _, _ := api(t, n, "POST", "/api/reports", witness, map[string]string{"room": "reported", "reason": "flood"}); status != 429 {
		t.Fatalf("report flood: %d", status)
	}
}

// The streamer's chat rules: slow mode, followers only and a minimum account
// age refuse with a reason; the streamer is exempt.
func TestRoomChatRules(t *testing.T) {
	n := startNode(t, nil)
	createUser(t, n, "strict", "streamer", "strict-password")
	createUser(t, n, "newbie", "viewer", "newbie-password")
	owner, newbie := login(t, n, "strict", "strict-password"), login(t, n, "newbie", "newbie-password")
	patch := func(body map[string]any) int {
		status, _, _ := api(t, n, "PATCH", "/api/rooms/strict", owner, body)
		return status
	}
	if got := patch(map[string]any{"slow_mode_seconds": 99999}); got != 400 {
		t.Fatalf("slow mode out of range: %d", got)
	}
	ws := dialRoom(t, n, "strict", newbie, "")
	own := dialRoom(t, n, "strict", owner, "")
	time.Sleep(100 * time.Millisecond)
	expect := func(c *chatClient, said, code string) {
		t.Helper()
		c.send(t, "chat", map[string]string{"text": said})
		for {
			e := c.next(t, "error", "chat")
			if e.Type == "chat" && text(e) != said {
				continue // an earlier message of the room
			}
			if code == "" && e.Type != "chat" || code != "" && errorCode(e) != code {
				t.Fatalf("%q: %s %s, want %q", said, e.Type, e.Body, code)
			}
			return
		}
	}
	if got := patch(map[string]any{"followers_only": true}); got != 200 {
		t.Fatalf("followers only: %d", got)
	}
	expect(ws, "hi", "followers_only")
	expect(own, "rules apply to you", "")
	if status, _, _ := api(t, n, "POST", "/api/users/strict/follow", newbie, nil); status != 204 {
		t.Fatalf("follow: %d", status)
	}
	expect(ws, "hi now", "")
	patch(map[string]any{"followers_only": false, "min_account_age_minutes": 60})
	expect(ws, "too new", "account_too_new")
	patch(map[string]any{"min_account_age_minutes": 0, "slow_mode_seconds": 60})
	expect(ws, "first", "")
	expect(ws, "second", "slow_down")
	_, out, _ := api(t, n, "GET", "/api/rooms/strict", "", nil)
	if out["slow_mode_seconds"].(float64) != 60 || out["followers_only"] != false {
		t.Fatalf("room view %v", out)
	}
}

// A private message from a user on node A reaches the recipient's socket on
// node B at once; unread counts, mark read and blocking work.
func TestDirectMessages(t *testing.T) {
	a, b := cluster(t, true, false)
	createUser(t, a, "sender", "viewer", "sender-password")
	createUser(t, a, "receiver", "viewer", "receiver-password")
	sender, receiver := login(t, a, "sender", "sender-password"), login(t, b, "receiver", "receiver-password")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(b.base, "http")+"/ws/me?token="+receiver, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	time.Sleep(100 * time.Millisecond)
	if status, out, _ := api(t, a, "POST", "/api/dm/receiver", sender, map[string]string{"text": "psst <b>hi</b>"}); status != 201 {
		t.Fatalf("send: %d %v", status, out)
	}
	_, data, err := conn.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var batch []room.Envelope
	if err := json.Unmarshal(data, &batch); err != nil || len(batch) != 1 || batch[0].Type != "dm" || batch[0].From.Name != "sender" {
		t.Fatalf("live dm frame %s (%v)", data, err)
	}
	var body room.DMBody
	_ = json.Unmarshal(batch[0].Body, &body)
	if body.Text != "psst <b>hi</b>" || body.To.Name != "receiver" {
		t.Fatalf("dm body %+v", body)
	}
	_, out, _ := api(t, b, "GET", "/api/dm", receiver, nil)
	convs := out["conversations"].([]any)
	if len(convs) != 1 || convs[0].(map[string]any)["unread"].(float64) != 1 {
		t.Fatalf("conversations %v", out)
	}
	senderConn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(a.base, "http")+"/ws/me?token="+sender, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer senderConn.CloseNow()
	time.Sleep(100 * time.Millisecond)
	if status, _, _ := api(t, b, "POST", "/api/dm/sender/read", receiver, nil); status != 204 {
		t.Fatalf("mark read: %d", status)
	}
	// The sender's page on the other node learns at once that it was read.
	_, data, err = senderConn.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var read room.ReadBody
	if err := json.Unmarshal(data, &batch); err != nil || len(batch) != 1 || batch[0].Type != "dm_read" || batch[0].From.Name != "receiver" ||
		json.Unmarshal(batch[0].Body, &read) != nil || read.With.Name != "sender" {
		t.Fatalf("read notice %s (%v)", data, err)
	}
	_, out, _ = api(t, b, "GET", "/api/dm", receiver, nil)
	if out["conversations"].([]any)[0].(map[string]any)["unread"].(float64) != 0 {
		t.Fatalf("after read %v", out)
	}
	_, out, _ = api(t, a, "GET", "/api/dm/receiver", sender, nil)
	if msgs := out["messages"].([]any); len(msgs) != 1 || msgs[0].(map[string]any)["read"] != true {
		t.Fatalf("history %v", out)
	}
	if status, _, _ := api(t, b, "POST", "/api/users/sender/block", receiver, nil); status != 204 {
		t.Fatalf("block: %d", status)
	}
	if status, out, _ := api(t, a, "POST", "/api/dm/receiver", sender, map[string]string{"text": "again"}); status != 403 {
		t.Fatalf("blocked send: %d %v", status, out)
	}
	_, out, _ = api(t, b, "GET", "/api/dm", receiver, nil)
	if out["conversations"].([]any)[0].(map[string]any)["blocked"] != true {
		t.Fatalf("the receiver's list does not show the block: %v", out)
	}
	_, out, _ = api(t, b, "GET", "/api/dm/sender", receiver, nil)
	if out["blocked"] != true || out["with"].(map[string]any)["name"] != "sender" {
		t.Fatalf("the conversation does not show the block: %v", out)
	}
	if _, out, _ = api(t, a, "GET", "/api/dm/receiver", sender, nil); out["blocked"] != false {
		t.Fatalf("the blocked user sees a block of their own: %v", out)
	}
	// Sending too fast is 429 with Retry-After.
	for i := 0; ; i++ {
		status, out, hdr := api(t, b, "POST", "/api/dm/sender", receiver, map[string]string{"text": fmt.Sprint("flood ", i)})
		if status == 429 {
			if hdr.Get("Retry-After") == "" || !strings.Contains(fmt.Sprint(out["detail"]), "wait") {
				t.Fatalf("429 without Retry-After or a wait: %v %v", hdr, out)
			}
			break
		}
		if status != 201 || i > 20 {
			t.Fatalf("flood message %d: %d %v", i, status, out)
		}
	}
	if status, _, _ := api(t, a, "GET", "/api/dm", "", nil); status != 401 {
		t.Fatalf("anonymous dm list: %d", status)
	}
}

// The node hosting a live room tells it its viewer count every few seconds.
func TestPresenceMessages(t *testing.T) {
	n := startNode(t, func(c *app.Config) { c.PresenceInterval = 200 * time.Millisecond })
	publishSynthetic(t, n, "counting", "k-counting-1", 30, false)
	v := watch(t, n, "counting", "", 1)
	if err := v.WaitConnected(testContext(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	ws := dialRoom(t, n, "counting", "", "")
	for {
		var b room.PresenceBody
		_ = json.Unmarshal(ws.next(t, "presence").Body, &b)
		if b.Viewers == 1 {
			return
		}
	}
}
