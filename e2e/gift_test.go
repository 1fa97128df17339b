package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/onair-live/onair/cmd/onair/app"
	"github.com/onair-live/onair/room"
)

type giftBody struct {
	Gift   string
	Count  int
	Combo  int
	Effect string
	Coins  int64
	Earned int64
	To     room.Sender
}

func giftOf(t *testing.T, e room.Envelope) giftBody {
	t.Helper()
	var b giftBody
	if err := json.Unmarshal(e.Body, &b); err != nil {
		t.Fatal(err)
	}
	return b
}

// ledgerVerify runs `onair ledger verify` on the node's database.
func ledgerVerify(t *testing.T, n *node) string {
	t.Helper()
	var out, errb bytes.Buffer
	args := []string{"ledger", "verify", "--data", n.cfg.Data}
	if n.cfg.DB != "" {
		args = append(args, "--db", n.cfg.DB)
	}
	if code := app.Main(context.Background(), args, os.Getenv, &out, &errb); code != 0 {
		t.Fatalf("ledger verify: exit %d: %s%s", code, out.String(), errb.String())
	}
	return out.String()
}

// A viewer with coins sends gifts to a live streamer over HTTP and over the
// room socket: everyone in the room sees each gift once, combos rise, a retry
// moves nothing, a gift beyond the balance is refused in words; the streamer
// earns the value minus the commission; the leaderboards rank both; the books
// balance.
func TestGifts(t *testing.T) {
	n := startNode(t, nil)
	createUser(t, n, "giftadmin", "admin", "giftadmin-password")
	star := createUser(t, n, "giftstar", "streamer", "giftstar-password")
	createUser(t, n, "giftfan", "viewer", "giftfan-password")
	admin, fan, host := login(t, n, "giftadmin", "giftadmin-password"), login(t, n, "giftfan", "giftfan-password"), login(t, n, "giftstar", "giftstar-password")
	publishSynthetic(t, n, "giftstar", star["stream_key"], 30, false)
	eventually(t, 10*time.Second, "the broadcast", func() bool {
		_, out, _ := api(t, n, "GET", "/api/rooms/giftstar/leaderboard", "", nil)
		return out["live"] == nil
	})
	if status, out, _ := api(t, n, "POST", "/api/admin/users/giftfan/coins", fan, map[string]any{"coins": 1000, "reason": "welcome", "idempotency_key": "g1"}); status != 403 {
		t.Fatalf("a viewer granting coins: %d %v", status, out)
	}
	if status, out, _ := api(t, n, "POST", "/api/admin/users/giftfan/coins", admin, map[string]any{"coins": 1000, "reason": "welcome", "idempotency_key": "g1"}); status != 200 || out["coins"].(float64) != 1000 {
		t.Fatalf("grant: %d %v", status, out)
	}
	watcher := dialRoom(t, n, "giftstar", "", "")
	sender := dialRoom(t, n, "giftstar", fan, "")
	time.Sleep(200 * time.Millisecond)

	send := func(gift string, count int, key string) (int, map[string]any) {
		status, out, _ := api(t, n, "POST", "/api/rooms/giftstar/gifts", fan, map[string]any{"gift": gift, "count": count, "idempotency_key": key})
		return status, out
	}
	status, out := send("rose", 1, "r1")
	if status != 201 || out["coins"].(float64) != 10 || out["balance"].(float64) != 990 || out["combo"].(float64) != 1 {
		t.Fatalf("first rose: %d %v", status, out)
	}
	first := watcher.next(t, "gift")
	if g := giftOf(t, first); g.Gift != "rose" || g.Combo != 1 || g.Coins != 10 || g.To.Name != "giftstar" || g.Earned != 0 || first.From == nil || first.From.Name != "giftfan" {
		t.Fatalf("the room's first gift: %+v %s", first, first.Body)
	}
	if first.ID != out["txn_id"] {
		t.Fatalf("the gift's envelope id %s is not its transaction %v", first.ID, out["txn_id"])
	}
	if status, out = send("rose", 5, "r2"); status != 201 || out["combo"].(float64) != 6 {
		t.Fatalf("the combo: %d %v", status, out)
	}
	if g := giftOf(t, watcher.next(t, "gift")); g.Combo != 6 || g.Count != 5 {
		t.Fatalf("the combo event %+v", g)
	}
	if status, out = send("rose", 5, "r2"); status != 200 || out["replayed"] != true {
		t.Fatalf("a retry: %d %v", status, out)
	}
	status, out = send("castle", 1, "c1")
	if status != 402 || !strings.Contains(fmt.Sprint(out["detail"]), "5000 needed") {
		t.Fatalf("a castle with 940 coins: %d %v", status, out)
	}
	// Over the room socket: the gift arrives like the others; a refusal comes
	// back on the sender's channel only.
	sender.send(t, "gift", map[string]any{"gift": "cake", "count": 2, "idempotency_key": "ws1"})
	if g := giftOf(t, watcher.next(t, "gift")); g.Gift != "cake" || g.Coins != 200 {
		t.Fatalf("a gift over the socket: %+v", g)
	}
	sender.send(t, "gift", map[string]any{"gift": "castle", "count": 1, "idempotency_key": "ws2"})
	if e := sender.next(t, "error"); errorCode(e) != "insufficient_funds" {
		t.Fatalf("a castle over the socket: %s", e.Body)
	}
	if status, _ = send("nothing", 1, "x"); status != 404 {
		t.Fatalf("an unknown gift: %d", status)
	}
	if status, _, _ := api(t, n, "POST", "/api/rooms/giftstar/gifts", "", map[string]any{"gift": "rose", "count": 1, "idempotency_key": "anon"}); status != 401 {
		t.Fatalf("an anonymous gift: %d", status)
	}

	// 260 coins given: the fan has 740, the streamer earned half.
	if _, out, _ = api(t, n, "GET", "/api/wallet", fan, nil); out["coins"].(float64) != 740 {
		t.Fatalf("the fan's wallet %v", out)
	}
	if _, out, _ = api(t, n, "GET", "/api/wallet", host, nil); out["earnings"].(float64) != 130 {
		t.Fatalf("the streamer's wallet %v", out)
	}
	_, out, _ = api(t, n, "GET", "/api/wallet/history", fan, nil)
	if es, _ := out["entries"].([]any); len(es) != 4 || es[0].(map[string]any)["kind"] != "gift" || es[3].(map[string]any)["kind"] != "grant" {
		t.Fatalf("the fan's history %v", out)
	}
	for _, period := range []string{"broadcast", "day", "week", "all"} {
		eventually(t, 5*time.Second, "the room's "+period+" board", func() bool {
			_, out, _ := api(t, n, "GET", "/api/rooms/giftstar/leaderboard?period="+period, "", nil)
			es, _ := out["entries"].([]any)
			return len(es) == 1 && es[0].(map[string]any)["score"].(float64) == 260 &&
				es[0].(map[string]any)["user"].(map[string]any)["name"] == "giftfan"
		})
	}
	_, out, _ = api(t, n, "GET", "/api/leaderboards/streamers?period=week", "", nil)
	if es, _ := out["entries"].([]any); len(es) != 1 || es[0].(map[string]any)["score"].(float64) != 130 {
		t.Fatalf("top streamers %v", out)
	}
	if report := ledgerVerify(t, n); !strings.Contains(report, "ledger OK") {
		t.Fatalf("ledger verify: %s", report)
	}
}

// The admin sets the terms; a streamer's own commission applies instead.
func TestEconomyTerms(t *testing.T) {
	n := startNode(t, nil)
	createUser(t, n, "termsadmin", "admin", "termsadmin-password")
	createUser(t, n, "termstar", "streamer", "termstar-password")
	createUser(t, n, "termfan", "viewer", "termfan-password")
	admin, fan, host := login(t, n, "termsadmin", "termsadmin-password"), login(t, n, "termfan", "termfan-password"), login(t, n, "termstar", "termstar-password")
	_, terms, _ := api(t, n, "GET", "/api/admin/economy", admin, nil)
	if terms["commission_percent"].(float64) != 50 {
		t.Fatalf("default terms %v", terms)
	}
	terms["commission_percent"] = 30
	if status, out, _ := api(t, n, "PUT", "/api/admin/economy", admin, terms); status != 200 {
		t.Fatalf("put terms: %d %v", status, out)
	}
	terms["commission_percent"] = 130
	if status, out, _ := api(t, n, "PUT", "/api/admin/economy", admin, terms); status != 400 || !strings.Contains(fmt.Sprint(out["detail"]), "commission_percent") {
		t.Fatalf("a commission of 130%%: %d %v", status, out)
	}
	if status, _, _ := api(t, n, "PUT", "/api/admin/economy", host, terms); status != 403 {
		t.Fatalf("a streamer setting terms: %d", status)
	}
	api(t, n, "POST", "/api/admin/users/termfan/coins", admin, map[string]any{"coins": 1000, "reason": "test", "idempotency_key": "t1"})
	gift := func(key string) {
		t.Helper()
		if status, out, _ := api(t, n, "POST", "/api/rooms/termstar/gifts", fan, map[string]any{"gift": "cake", "count": 1, "idempotency_key": key}); status != 201 {
			t.Fatalf("gift: %d %v", status, out)
		}
	}
	gift("a")
	if _, out, _ := api(t, n, "GET", "/api/wallet", host, nil); out["earnings"].(float64) != 70 {
		t.Fatalf("at 30%%: %v", out)
	}
	if status, _, _ := api(t, n, "PUT", "/api/admin/users/termstar/commission", admin, map[string]any{"percent": 10}); status != 204 {
		t.Fatalf("own commission: %d", status)
	}
	gift("b")
	if _, out, _ := api(t, n, "GET", "/api/wallet", host, nil); out["earnings"].(float64) != 160 {
		t.Fatalf("at the streamer's 10%%: %v", out)
	}
	if status, out, _ := api(t, n, "PUT", "/api/admin/gifts/cake", admin, map[string]any{"name": "Cake", "price": 100, "icon": "🎂", "effect": "banner", "enabled": false, "sort_order": 30}); status != 200 {
		t.Fatalf("switching cake off: %d %v", status, out)
	}
	if status, _, _ := api(t, n, "POST", "/api/rooms/termstar/gifts", fan, map[string]any{"gift": "cake", "count": 1, "idempotency_key": "c"}); status != 404 {
		t.Fatalf("a switched-off gift: %d", status)
	}
	_, out, _ := api(t, n, "GET", "/api/gifts", "", nil)
	for _, g := range out["gifts"].([]any) {
		if g.(map[string]any)["id"] == "cake" {
			t.Fatal("the public catalog lists a switched-off gift")
		}
	}
}
