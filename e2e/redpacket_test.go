package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/onair-live/onair/room"
)

type redPacketEvent struct {
	ID        string
	Coins     int64
	Shares    int
	ExpiresAt int64 `json:"expires_at"`
	User      room.Sender
	Left      int
	Refunded  int64
	Sender    room.Sender
}

func redPacketOf(t *testing.T, e room.Envelope) redPacketEvent {
	t.Helper()
	var b redPacketEvent
	if err := json.Unmarshal(e.Body, &b); err != nil {
		t.Fatal(err)
	}
	return b
}

// A viewer drops red packets in a room over HTTP; viewers grab them; the room
// socket shows the packet, each grab and the end once the coins moved, with
// the transaction ids as envelope ids; refusals are sentences; what nobody
// grabbed comes back at the expiry; the books balance.
func TestRedPackets(t *testing.T) {
	n := startNode(t, nil)
	createUser(t, n, "rpadmin", "admin", "rpadmin-password")
	createUser(t, n, "rpstar", "streamer", "rpstar-password")
	createUser(t, n, "rpsender", "viewer", "rpsender-password")
	admin, sender := login(t, n, "rpadmin", "rpadmin-password"), login(t, n, "rpsender", "rpsender-password")
	viewers := make([]string, 4)
	for i := range viewers {
		name := fmt.Sprintf("rpviewer%d", i)
		createUser(t, n, name, "viewer", name+"-password")
		viewers[i] = login(t, n, name, name+"-password")
	}
	// The shortest expiry the terms allow, so that the test sees a refund.
	_, terms, _ := api(t, n, "GET", "/api/admin/economy", admin, nil)
	terms["red_packet_ttl"] = "10s"
	if status, out, _ := api(t, n, "PUT", "/api/admin/economy", admin, terms); status != 200 {
		t.Fatalf("terms: %d %v", status, out)
	}
	if status, out, _ := api(t, n, "POST", "/api/admin/users/rpsender/coins", admin, map[string]any{"coins": 500, "reason": "test", "idempotency_key": "rp"}); status != 200 {
		t.Fatalf("grant: %d %v", status, out)
	}
	watcher := dialRoom(t, n, "rpstar", "", "")
	time.Sleep(200 * time.Millisecond)

	drop := func(token string, coins, shares int, key string) (int, map[string]any) {
		status, out, _ := api(t, n, "POST", "/api/rooms/rpstar/redpackets", token, map[string]any{"coins": coins, "shares": shares, "idempotency_key": key})
		return status, out
	}
	grab := func(token, id string) (int, map[string]any) {
		status, out, _ := api(t, n, "POST", "/api/redpackets/"+id+"/grab", token, nil)
		return status, out
	}

	// Drop 300 coins in 3 shares; a retry is the same packet.
	status, out := drop(sender, 300, 3, "a")
	if status != 201 || out["balance"].(float64) != 200 {
		t.Fatalf("drop: %d %v", status, out)
	}
	packet := out["red_packet"].(map[string]any)
	id := packet["id"].(string)
	if packet["coins"].(float64) != 300 || packet["shares"].(float64) != 3 || packet["left"].(float64) != 3 || packet["from"].(map[string]any)["name"] != "rpsender" {
		t.Fatalf("the packet %v", packet)
	}
	if status, again := drop(sender, 300, 3, "a"); status != 200 || again["replayed"] != true || again["red_packet"].(map[string]any)["id"] != id {
		t.Fatalf("a retry: %d %v", status, again)
	}
	created := watcher.next(t, "redpacket")
	if b := redPacketOf(t, created); created.ID != out["txn_id"] || b.ID != id || b.Coins != 300 || b.Shares != 3 || b.ExpiresAt == 0 ||
		created.From == nil || created.From.Name != "rpsender" || created.Room != "rpstar" {
		t.Fatalf("the room's packet: %+v %s (txn %v)", created, created.Body, out["txn_id"])
	}
	_, list, _ := api(t, n, "GET", "/api/rooms/rpstar/redpackets", "", nil)
	if ps, _ := list["red_packets"].([]any); len(ps) != 1 || ps[0].(map[string]any)["id"] != id {
		t.Fatalf("the room's list %v", list)
	}

	// Three viewers win the three shares, in order; the room sees each.
	var won float64
	for i := range 3 {
		status, g := grab(viewers[i], id)
		if status != 200 || g["share"].(float64) != float64(i) || g["left"].(float64) != float64(2-i) || g["coins"].(float64) < 1 || g["balance"] != g["coins"] {
			t.Fatalf("grab %d: %d %v", i, status, g)
		}
		won += g["coins"].(float64)
		e := watcher.next(t, "redpacket_grab")
		if b := redPacketOf(t, e); b.ID != id || b.User.Name != fmt.Sprintf("rpviewer%d", i) || float64(b.Coins) != g["coins"].(float64) || b.Left != 2-i || e.From == nil {
			t.Fatalf("the room's grab %d: %+v %s", i, e, e.Body)
		}
		_, mine, _ := api(t, n, "GET", "/api/wallet", viewers[i], nil)
		if mine["coins"] != g["coins"] {
			t.Fatalf("viewer %d's wallet %v, won %v", i, mine, g["coins"])
		}
	}
	if won != 300 {
		t.Fatalf("the shares sum to %v", won)
	}
	for _, c := range []struct {
		token  string
		status int
		detail string
	}{
		{viewers[0], 409, "You already grabbed this one"},
		{viewers[3], 409, "This red packet is empty"},
	} {
		if status, out := grab(c.token, id); status != c.status || out["detail"] != c.detail {
			t.Fatalf("a late grab: %d %v, want %d %q", status, out, c.status, c.detail)
		}
	}
	if _, list, _ = api(t, n, "GET", "/api/rooms/rpstar/redpackets", "", nil); len(list["red_packets"].([]any)) != 0 {
		t.Fatalf("an empty packet is listed: %v", list)
	}

	// Refusals a person can act on.
	for _, c := range []struct {
		token         string
		path          string
		coins, shares int
		status        int
		detail        string
	}{
		{sender, "/api/rooms/rpstar/redpackets", 500, 5, 402, "Not enough coins: 500 needed, you have 200"},
		{sender, "/api/rooms/rpstar/redpackets", 2, 3, 400, "2 coins cannot fill 3 shares: each share is at least 1 coin"},
		{"", "/api/rooms/rpstar/redpackets", 10, 1, 401, ""},
		{sender, "/api/rooms/nosuchroom/redpackets", 10, 1, 404, ""},
	} {
		status, out, _ := api(t, n, "POST", c.path, c.token, map[string]any{"coins": c.coins, "shares": c.shares, "idempotency_key": "bad"})
		if status != c.status || (c.detail != "" && out["detail"] != c.detail) {
			t.Fatalf("%s %d/%d: %d %v, want %d %q", c.path, c.coins, c.shares, status, out, c.status, c.detail)
		}
	}
	if status, _ := grab(viewers[0], "01JNOSUCHPACKET00000000000"); status != 404 {
		t.Fatalf("a grab of nothing: %d", status)
	}

	// A packet nobody finishes: at its expiry the rest goes back, once.
	status, out = drop(sender, 100, 5, "b")
	if status != 201 {
		t.Fatalf("drop: %d %v", status, out)
	}
	second := out["red_packet"].(map[string]any)["id"].(string)
	if redPacketOf(t, watcher.next(t, "redpacket")).ID != second {
		t.Fatal("the second packet's envelope")
	}
	// Someone banned from the room takes no share of its packets.
	star := login(t, n, "rpstar", "rpstar-password")
	if status, out, _ := api(t, n, "POST", "/api/rooms/rpstar/bans", star, map[string]any{"name": "rpviewer3", "reason": "harassment"}); status != 204 {
		t.Fatalf("ban: %d %v", status, out)
	}
	if status, out := grab(viewers[3], second); status != 403 || !strings.Contains(fmt.Sprint(out["detail"]), "banned from this room") {
		t.Fatalf("a banned viewer's grab: %d %v", status, out)
	}
	if _, w, _ := api(t, n, "GET", "/api/wallet", viewers[3], nil); w["coins"].(float64) != 0 {
		t.Fatalf("the banned viewer's wallet %v", w)
	}
	status, g := grab(viewers[1], second)
	if status != 200 {
		t.Fatalf("grab: %d %v", status, g)
	}
	watcher.next(t, "redpacket_grab")
	var end room.Envelope
	deadline := time.Now().Add(20 * time.Second)
	for end.Type == "" {
		select {
		case e, ok := <-watcher.got:
			if !ok {
				t.Fatal("the room socket closed")
			}
			if e.Type == "redpacket_end" {
				end = e
			}
		case <-time.After(time.Until(deadline)):
			t.Fatal("no redpacket_end within 20 s of a 10 s packet")
		}
	}
	refund := 100 - int64(g["coins"].(float64))
	if b := redPacketOf(t, end); b.ID != second || b.Refunded != refund || b.Sender.Name != "rpsender" || end.ID == "" {
		t.Fatalf("the end: %+v %s", end, end.Body)
	}
	if status, out := grab(viewers[2], second); status != 410 || out["detail"] != "This red packet expired" {
		t.Fatalf("a grab after the end: %d %v", status, out)
	}
	if _, w, _ := api(t, n, "GET", "/api/wallet", sender, nil); w["coins"].(float64) != float64(100+refund) {
		t.Fatalf("the sender's wallet %v, want %d", w, 100+refund)
	}
	t.Log(ledgerVerify(t, n))
}
