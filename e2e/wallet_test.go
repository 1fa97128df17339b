package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/onair-live/onair/cmd/onair/app"
	"github.com/onair-live/onair/economy/payment"
	"github.com/onair-live/onair/economy/wallet"
	"github.com/onair-live/onair/room"
)

// postCallback sends a provider's callback to the node as the provider would:
// raw body, the two signature headers, no session.
func postCallback(t *testing.T, n *node, provider string, s payment.Signed) (int, map[string]any) {
	t.Helper()
	var hdr []string
	for k, v := range s.Header() {
		hdr = append(hdr, k, v)
	}
	status, h, body := do(t, "POST", n.base+"/api/payments/"+provider+"/callback", "application/json", string(s.Body), hdr...)
	var out map[string]any
	_ = json.Unmarshal([]byte(body), &out)
	if status >= 400 && !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") {
		t.Errorf("callback refused with %d as %q, want problem+json", status, h.Get("Content-Type"))
	}
	return status, out
}

// submitDevForm presses Pay or Fail on the dev confirm page: the form post
// the page makes, same-origin. It returns the status and where it redirects.
func submitDevForm(t *testing.T, n *node, token string, status payment.Status) (int, string) {
	t.Helper()
	form := url.Values{"token": {token}, "status": {string(status)}}.Encode()
	req, _ := http.NewRequest("POST", n.base+"/pay/dev", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

func coins(t *testing.T, n *node, token string) (float64, float64) {
	t.Helper()
	status, out, _ := api(t, n, "GET", "/api/wallet", token, nil)
	if status != 200 {
		t.Fatalf("wallet: %d %v", status, out)
	}
	return out["coins"].(float64), out["earnings"].(float64)
}

// Recharge over HTTP with the dev provider: a package bought, the provider's
// refused callbacks (each a problem, nothing credited), the confirm page's
// Pay, the credit once, the recharge event on the buyer's socket.
func TestRechargeHTTP(t *testing.T) {
	n := startNode(t, nil) // --dev: dev payments on
	createUser(t, n, "buyer", "viewer", "buyer-password")
	fan := login(t, n, "buyer", "buyer-password")
	dev := n.app.DevPayments()
	if dev == nil {
		t.Fatal("--dev did not turn dev payments on")
	}

	status, out, _ := api(t, n, "GET", "/api/wallet/packages", "", nil)
	pkgs, _ := out["packages"].([]any)
	if status != 200 || len(pkgs) != 4 || fmt.Sprint(out["providers"]) != "[dev]" || out["currency"] != "CNY" {
		t.Fatalf("packages: %d %v", status, out)
	}
	if p := pkgs[1].(map[string]any); p["id"] != "p30" || p["coins"].(float64) != 310 || p["price_cents"].(float64) != 3000 {
		t.Fatalf("package p30: %v", p)
	}
	buy := map[string]any{"package": "p30", "provider": "dev", "idempotency_key": "buy-1"}
	if status, _, _ := api(t, n, "POST", "/api/wallet/orders", "", buy); status != 401 {
		t.Fatalf("anonymous order: %d", status)
	}
	status, out, _ = api(t, n, "POST", "/api/wallet/orders", fan, buy)
	checkout, _ := out["checkout_url"].(string)
	if status != 201 || !strings.HasPrefix(checkout, "/pay/dev?token=") {
		t.Fatalf("order: %d %v", status, out)
	}
	order := out["order"].(map[string]any)
	if _, again, _ := api(t, n, "POST", "/api/wallet/orders", fan, buy); again["order"].(map[string]any)["id"] != order["id"] || again["checkout_url"] != checkout {
		t.Fatalf("a retry made another order: %v", again)
	}
	buy["package"] = "p6"
	if status, out, _ := api(t, n, "POST", "/api/wallet/orders", fan, buy); status != 409 {
		t.Fatalf("the key again for another package: %d %v", status, out)
	}
	buy["package"], buy["idempotency_key"] = "nope", "buy-2"
	if status, out, _ := api(t, n, "POST", "/api/wallet/orders", fan, buy); status != 400 || !strings.Contains(fmt.Sprint(out["detail"]), "nope") {
		t.Fatalf("an unknown package: %d %v", status, out)
	}
	token, _ := url.QueryUnescape(strings.TrimPrefix(checkout, "/pay/dev?token="))

	// The confirm page shows what is paid.
	status, _, page := do(t, "GET", n.base+checkout, "", "")
	if status != 200 || !strings.Contains(page, "30.00 CNY") || !strings.Contains(page, `value="paid"`) || !strings.Contains(page, order["id"].(string)) {
		t.Fatalf("confirm page: %d %s", status, page)
	}
	if status, _, page := do(t, "GET", n.base+"/pay/dev?token=forged", "", ""); status != 404 || !strings.Contains(page, "not issued by this server") {
		t.Fatalf("confirm page of a forged token: %d %s", status, page)
	}

	socket := dialUser(t, n, fan)

	// Refused callbacks: each a problem with its status; nothing credited.
	good, err := dev.Callback(token, payment.StatusPaid)
	if err != nil {
		t.Fatal(err)
	}
	bad := good
	bad.Signature = strings.Repeat("0", 64)
	ghost, _ := dev.Checkout(t.Context(), payment.Order{ID: "01NOSUCHORDER000000000000", Provider: "dev", Amount: 3000, Currency: "CNY", Status: payment.StatusPending})
	ghostToken, _ := url.QueryUnescape(strings.TrimPrefix(ghost.URL, "/pay/dev?token="))
	ghostCB, _ := dev.Callback(ghostToken, payment.StatusPaid)
	// An order whose checkout never returned, paid with another amount.
	raw, _, err := n.app.DB().CreateOrder(t.Context(), wallet.Order{UserID: userID(t, n, fan), Key: "raw", Package: "p30", PriceCents: 3000, Currency: "CNY", Coins: 310, Provider: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	cheap, _ := dev.Checkout(t.Context(), payment.Order{ID: raw.ID, Provider: "dev", Amount: 1, Currency: "CNY", Status: payment.StatusPending})
	cheapToken, _ := url.QueryUnescape(strings.TrimPrefix(cheap.URL, "/pay/dev?token="))
	cheapCB, _ := dev.Callback(cheapToken, payment.StatusPaid)
	for _, c := range []struct {
		what     string
		provider string
		s        payment.Signed
		status   int
		says     string
	}{
		{"a bad signature", "dev", bad, 401, "signature"},
		{"no signature", "dev", payment.Signed{Body: good.Body}, 401, "Onair-Signature"},
		{"an unknown provider", "stripe", good, 404, "stripe"},
		{"an unknown order", "dev", ghostCB, 404, "unknown order"},
		{"an amount mismatch", "dev", cheapCB, 409, "is for 3000, the callback for 1"},
		{"malformed JSON", "dev", payment.Signed{Timestamp: good.Timestamp, Signature: good.Signature, Body: []byte("{")}, 401, "signature"},
	} {
		status, out := postCallback(t, n, c.provider, c.s)
		if status != c.status || !strings.Contains(fmt.Sprint(out["detail"]), c.says) {
			t.Errorf("%s: %d %v, want %d saying %q", c.what, status, out, c.status, c.says)
		}
	}
	if got, _ := coins(t, n, fan); got != 0 {
		t.Fatalf("refused callbacks credited %v coins", got)
	}

	// The genuine callback: 200, credited once; the same request again is a
	// replay (409), a new report of the same status is answered 200.
	if status, out := postCallback(t, n, "dev", good); status != 200 || out["status"] != "paid" {
		t.Fatalf("paid callback: %d %v", status, out)
	}
	if status, out := postCallback(t, n, "dev", good); status != 409 || !strings.Contains(fmt.Sprint(out["detail"]), "already taken") {
		t.Fatalf("replay: %d %v", status, out)
	}
	again, _ := dev.Callback(token, payment.StatusPaid)
	if status, _ := postCallback(t, n, "dev", again); status != 200 {
		t.Fatalf("a provider's retry: %d", status)
	}
	if got, _ := coins(t, n, fan); got != 310 {
		t.Fatalf("coins after paying: %v, want 310", got)
	}
	env := socket.next(t, "recharge")
	var body wallet.RechargeEvent
	if err := json.Unmarshal(env.Body, &body); err != nil || body.Order != order["id"] || body.Coins != 310 || body.Balance != 310 || env.ID == "" {
		t.Fatalf("recharge event %+v: %+v %v", env, body, err)
	}

	// The confirm page's Pay for a second order, and its Fail for a third.
	_, out, _ = api(t, n, "POST", "/api/wallet/orders", fan, map[string]any{"package": "p6", "provider": "dev", "idempotency_key": "buy-3"})
	token2, _ := url.QueryUnescape(strings.TrimPrefix(out["checkout_url"].(string), "/pay/dev?token="))
	status, loc := submitDevForm(t, n, token2, payment.StatusPaid)
	if status != 303 || !strings.HasPrefix(loc, "/wallet?") || !strings.Contains(loc, "status=paid") {
		t.Fatalf("Pay: %d to %q", status, loc)
	}
	_, out, _ = api(t, n, "POST", "/api/wallet/orders", fan, map[string]any{"package": "p98", "provider": "dev", "idempotency_key": "buy-4"})
	token3, _ := url.QueryUnescape(strings.TrimPrefix(out["checkout_url"].(string), "/pay/dev?token="))
	if status, loc := submitDevForm(t, n, token3, payment.StatusFailed); status != 303 || !strings.Contains(loc, "status=failed") {
		t.Fatalf("Fail: %d to %q", status, loc)
	}
	if status, _ := submitDevForm(t, n, token3, payment.StatusPaid); status != 409 {
		t.Fatalf("Pay after Fail: %d, want 409", status)
	}
	if got, _ := coins(t, n, fan); got != 310+60 {
		t.Fatalf("coins: %v, want 370", got)
	}
	status, out, _ = api(t, n, "GET", "/api/wallet/orders?limit=2", fan, nil)
	list, _ := out["orders"].([]any)
	if status != 200 || len(list) != 2 || out["next"] == "" || list[0].(map[string]any)["status"] != "failed" || list[1].(map[string]any)["status"] != "paid" {
		t.Fatalf("orders: %d %v", status, out)
	}
	status, out, _ = api(t, n, "GET", "/api/wallet/orders?limit=2&cursor="+out["next"].(string), fan, nil)
	if list, _ := out["orders"].([]any); status != 200 || len(list) != 2 {
		t.Fatalf("orders, page 2: %d %v", status, out)
	}
	ledgerVerify(t, n)
}

// Without --dev or payments.dev there is no dev provider and no confirm page.
func TestDevPaymentsOff(t *testing.T) {
	n := startNode(t, func(c *app.Config) { c.Dev = false; c.StreamKeys = map[string]string{"x": "x-key-12345"} })
	if n.app.DevPayments() != nil {
		t.Fatal("dev payments on without the flag")
	}
	if status, _, _ := do(t, "GET", n.base+"/pay/dev?token=x", "", ""); status != 404 {
		t.Fatalf("/pay/dev without the flag: %d", status)
	}
	createUser(t, n, "buyer", "viewer", "buyer-password")
	fan := login(t, n, "buyer", "buyer-password")
	if status, out, _ := api(t, n, "POST", "/api/wallet/orders", fan, map[string]any{"package": "p6", "provider": "dev", "idempotency_key": "k"}); status != 404 {
		t.Fatalf("an order with the dev provider off: %d %v", status, out)
	}
}

// Withdrawals over HTTP: a streamer's requests refused in words (minimum,
// balance, daily limit), eight admins approving at once (one wins), a
// rejection that needs a reason and returns the earnings, the audit log.
func TestWithdrawalsHTTP(t *testing.T) {
	n := startNode(t, nil)
	createUser(t, n, "bank", "admin", "bank-password")
	createUser(t, n, "earner", "streamer", "earner-password")
	createUser(t, n, "patron", "viewer", "patron-password")
	admin, star, fan := login(t, n, "bank", "bank-password"), login(t, n, "earner", "earner-password"), login(t, n, "patron", "patron-password")
	if status, out, _ := api(t, n, "POST", "/api/admin/users/patron/coins", admin, map[string]any{"coins": 4000, "reason": "test", "idempotency_key": "g"}); status != 200 {
		t.Fatalf("grant: %d %v", status, out)
	}
	if status, out, _ := api(t, n, "POST", "/api/rooms/earner/gifts", fan, map[string]any{"gift": "rocket", "count": 4, "idempotency_key": "r"}); status != 201 {
		t.Fatalf("gift: %d %v", status, out)
	}
	if _, earnings := coins(t, n, star); earnings != 2000 { // 4000 at 50% commission
		t.Fatalf("earnings %v, want 2000", earnings)
	}
	_, terms, _ := api(t, n, "GET", "/api/admin/economy", admin, nil)
	terms["withdraw_daily_limit"] = 1000
	if status, out, _ := api(t, n, "PUT", "/api/admin/economy", admin, terms); status != 200 {
		t.Fatalf("terms: %d %v", status, out)
	}
	status, out, _ := api(t, n, "GET", "/api/wallet/withdrawals", star, nil)
	tm, _ := out["terms"].(map[string]any)
	if status != 200 || tm["min"].(float64) != 100 || tm["daily_limit"].(float64) != 1000 || tm["cents_per_earning"].(float64) != 10 || tm["balance"].(float64) != 2000 || tm["left_today"].(float64) != 1000 {
		t.Fatalf("my withdrawals: %d %v", status, out)
	}
	withdraw := func(earnings int, key string) (int, map[string]any) {
		status, out, _ := api(t, n, "POST", "/api/wallet/withdrawals", star, map[string]any{"earnings": earnings, "idempotency_key": key})
		return status, out
	}
	for _, c := range []struct {
		earnings int
		status   int
		says     string
	}{
		{50, 400, "withdraw at least 100 earnings; you asked for 50"},
		{1500, 409, "at most 1000 more"},
	} {
		if status, out := withdraw(c.earnings, fmt.Sprint("k", c.earnings)); status != c.status || !strings.Contains(fmt.Sprint(out["detail"]), c.says) {
			t.Errorf("withdraw %d: %d %v, want %d saying %q", c.earnings, status, out, c.status, c.says)
		}
	}
	status, first := withdraw(600, "a")
	if status != 201 || first["status"] != "requested" || first["cents"].(float64) != 6000 {
		t.Fatalf("withdraw 600: %d %v", status, first)
	}
	if status, out := withdraw(500, "b"); status != 409 || !strings.Contains(fmt.Sprint(out["detail"]), "600 requested today, so at most 400 more") {
		t.Fatalf("over the day's limit: %d %v", status, out)
	}
	// The poor streamer: more than the balance.
	createUser(t, n, "poorstar", "streamer", "poorstar-password")
	poor := login(t, n, "poorstar", "poorstar-password")
	if status, out, _ := api(t, n, "POST", "/api/wallet/withdrawals", poor, map[string]any{"earnings": 100, "idempotency_key": "p"}); status != 402 || !strings.Contains(fmt.Sprint(out["detail"]), "Not enough earnings: 100 needed, you have 0") {
		t.Fatalf("over the balance: %d %v", status, out)
	}

	// The admins' queue names the streamer; eight approve at once.
	status, out, _ = api(t, n, "GET", "/api/admin/withdrawals?status=requested", admin, nil)
	queue, _ := out["withdrawals"].([]any)
	if status != 200 || len(queue) != 1 || queue[0].(map[string]any)["user"].(map[string]any)["name"] != "earner" {
		t.Fatalf("queue: %d %v", status, out)
	}
	if status, _, _ := api(t, n, "GET", "/api/admin/withdrawals", star, nil); status != 403 {
		t.Fatalf("a streamer reading the queue: %d", status)
	}
	id := first["id"].(string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := range 8 {
		wg.Go(func() {
			status, _, _ := api(t, n, "POST", "/api/admin/withdrawals/"+id+"/approve", admin, map[string]any{"reason": fmt.Sprint("transfer ", i)})
			mu.Lock()
			codes[status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if codes[200] != 1 || codes[409] != 7 {
		t.Fatalf("eight approvals at once answered %v, want one 200 and seven 409", codes)
	}

	status, second := withdraw(300, "c")
	if status != 201 {
		t.Fatalf("withdraw 300: %d %v", status, second)
	}
	id2 := second["id"].(string)
	if status, out, _ := api(t, n, "POST", "/api/admin/withdrawals/"+id2+"/reject", admin, map[string]any{}); status != 400 || !strings.Contains(fmt.Sprint(out["detail"]), "say why") {
		t.Fatalf("a rejection without a reason: %d %v", status, out)
	}
	if status, out, _ := api(t, n, "POST", "/api/admin/withdrawals/"+id2+"/reject", admin, map[string]any{"reason": "bank details missing"}); status != 200 || out["status"] != "rejected" {
		t.Fatalf("reject: %d %v", status, out)
	}
	if _, earnings := coins(t, n, star); earnings != 2000-600 {
		t.Fatalf("earnings after one approval and one rejection: %v, want 1400", earnings)
	}
	status, out, _ = api(t, n, "GET", "/api/wallet/withdrawals", star, nil)
	mine, _ := out["withdrawals"].([]any)
	if status != 200 || len(mine) != 2 || mine[0].(map[string]any)["reason"] != "bank details missing" || mine[1].(map[string]any)["status"] != "approved" ||
		out["terms"].(map[string]any)["left_today"].(float64) != 400 {
		t.Fatalf("my withdrawals after the decisions: %d %v", status, out)
	}

	// Every step is in the audit log: who, what, the withdrawal, why.
	_, out, _ = api(t, n, "GET", "/api/admin/audit", admin, nil)
	steps := map[string]int{}
	for _, e := range out["entries"].([]any) {
		e := e.(map[string]any)
		if e["target_id"] == id || e["target_id"] == id2 {
			steps[fmt.Sprint(e["action"], " ", e["reason"])]++
		}
	}
	if len(steps) != 4 || steps["withdrawal_request 600 earnings for 6000 cents"] != 1 || steps["withdrawal_request 300 earnings for 3000 cents"] != 1 ||
		steps["withdrawal_reject bank details missing"] != 1 {
		t.Fatalf("audit steps of the two withdrawals: %v (entries %v)", steps, out["entries"])
	}
	ledgerVerify(t, n)
}

// dialUser opens the user's private socket, /ws/me.
func dialUser(t *testing.T, n *node, token string) *chatClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(n.base, "http")+"/ws/me?token="+token, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &chatClient{conn: conn, got: make(chan room.Envelope, 64)}
	go func() {
		defer close(c.got)
		for {
			_, data, err := conn.Read(context.Background())
			if err != nil {
				return
			}
			var batch []room.Envelope
			if json.Unmarshal(data, &batch) == nil {
				for _, e := range batch {
					c.got <- e
				}
			}
		}
	}()
	t.Cleanup(func() { conn.CloseNow() })
	time.Sleep(100 * time.Millisecond) // subscribed before what it should hear
	return c
}

func userID(t *testing.T, n *node, token string) string {
	t.Helper()
	_, me, _ := api(t, n, "GET", "/api/me", token, nil)
	return me["id"].(string)
}
