package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/onair-live/onair/internal/browsertest"
)

// topbarOverlaps lists the top bar's items (its children and the account
// area's) that overlap the next one or stick out of the bar, at the tab's
// width: the wallet link must fit beside the others.
const topbarOverlaps = `(() => {
  const bar = document.querySelector('header.topbar').getBoundingClientRect();
  const items = [...document.querySelectorAll('header.topbar > *:not(.topbar-spacer):not(.account), header.topbar .account > *')]
    .map((e) => ({name: e.className || e.tagName, r: e.getBoundingClientRect()}))
    .filter((x) => x.r.width > 0).sort((a, b) => a.r.left - b.r.left);
  const bad = [];
  items.forEach((x, i) => {
    if (x.r.left < bar.left - 0.5 || x.r.right > bar.right + 0.5) bad.push(x.name + ' sticks out');
    if (i > 0 && items[i - 1].r.right > x.r.left + 0.5) bad.push(items[i - 1].name + ' overlaps ' + x.name);
  });
  return {bad, n: items.length};
})()`

func fitsTopbar(t *testing.T, tab context.Context, what string) {
	t.Helper()
	st := browsertest.Eval[map[string]any](t, tab, topbarOverlaps)
	if bad, _ := st["bad"].([]any); len(bad) > 0 || browsertest.Num(st, "n") < 3 {
		t.Errorf("%s: the top bar at this width: %v", what, st)
	}
}

// whereAmI is the tab's path and whether the dev confirm page's Pay is there.
const whereAmI = `({path: location.pathname, search: location.search, pay: !!document.getElementById('paydev-pay')})`

// A viewer recharges in the browser with the dev provider: the wallet's Pay
// opens the confirm page, its Pay brings the viewer back to the wallet with
// the coins in, the order paid and the credit in the coin history, which
// loads more on demand. A streamer withdraws from the earnings page: amounts
// it cannot take are refused in words, a request shows its state until an
// admin pays it out. Both pages at 1280 and 375 px.
func TestWalletBrowser(t *testing.T) {
	n := startNode(t, nil) // --dev: dev payments on
	createUser(t, n, "wbadmin", "admin", "wbadmin-password")
	createUser(t, n, "wbstar", "streamer", "wbstar-password")
	createUser(t, n, "wbfan", "viewer", "wbfan-password")
	admin, fanToken := login(t, n, "wbadmin", "wbadmin-password"), login(t, n, "wbfan", "wbfan-password")
	browser := browsertest.Launch(t)
	num := browsertest.Num

	fan := loggedInTab(t, browser, n, fanToken)
	browsertest.Navigate(t, fan, n.base+"/wallet")
	st := browsertest.WaitState(t, fan, "", func(s map[string]any) bool { return s["status"] == "ready" }, 30*time.Second)
	if num(st, "coins") != 0 || len(st["packages"].([]any)) != 4 || fmt.Sprint(st["providers"]) != "[dev]" || num(st, "orders") != 0 {
		t.Fatalf("a new wallet: %v", st)
	}
	browsertest.WaitState(t, fan, `({link: !!document.getElementById('topbar-wallet')})`, func(s map[string]any) bool { return s["link"] == true }, 10*time.Second)
	browsertest.Screenshot(t, fan, "wallet-empty-1280")

	// Pay for p30 (30.00 CNY: 300 coins + 10 bonus): the confirm page.
	if got := browsertest.Eval[string](t, fan, `document.querySelector('.package-card[data-package="p30"] .package-price').textContent`); got != "30.00 CNY" {
		t.Errorf("p30's price says %q", got)
	}
	if got := browsertest.Eval[string](t, fan, `document.querySelector('.package-pay[data-package="p30"]').getAttribute('aria-label')`); got != "Pay 30.00 CNY for 310 coins" {
		t.Errorf("p30's button is labelled %q", got)
	}
	_ = browsertest.Eval[bool](t, fan, `document.querySelector('.package-pay[data-package="p30"]').click(), true`)
	browsertest.WaitState(t, fan, whereAmI, func(s map[string]any) bool { return s["path"] == "/pay/dev" && s["pay"] == true }, 20*time.Second)
	if got := browsertest.Eval[string](t, fan, `document.getElementById('paydev-amount').textContent`); got != "30.00 CNY" {
		t.Errorf("the confirm page asks for %q", got)
	}
	browsertest.Screenshot(t, fan, "paydev-1280")
	if err := chromedp.Do(fan, chromedp.Click(chromedp.ID("paydev-pay"))); err != nil {
		t.Fatal(err)
	}

	// Back on the wallet: the coins, the notice, the order, the history; the
	// address no longer says paid (a reload would not announce it again).
	st = browsertest.WaitState(t, fan, "", func(s map[string]any) bool {
		return s["status"] == "ready" && num(s, "coins") == 310 && s["lastOrder"] == "paid" && num(s, "history") == 1
	}, 20*time.Second)
	if where := browsertest.Eval[map[string]any](t, fan, whereAmI); where["path"] != "/wallet" || where["search"] != "" {
		t.Errorf("after paying the address is %v", where)
	}
	if browsertest.Str(st, "notice") != "Payment received: your coins are in." {
		t.Errorf("notice %q", browsertest.Str(st, "notice"))
	}
	if got := browsertest.Eval[string](t, fan, `document.getElementById('balance').textContent`); got != "310" {
		t.Errorf("the balance shows %q", got)
	}
	if got := browsertest.Eval[string](t, fan, `document.querySelector('#history .ledger-line').textContent`); got == "" {
		t.Error("no history line")
	}
	browsertest.Screenshot(t, fan, "wallet-paid-1280")

	// Spend: 22 hearts and 2 cakes to the streamer; the history pages by 20.
	for i := range 22 {
		if status, out, _ := api(t, n, "POST", "/api/rooms/wbstar/gifts", fanToken, map[string]any{"gift": "heart", "count": 1, "idempotency_key": fmt.Sprint("h", i)}); status != 201 {
			t.Fatalf("heart %d: %d %v", i, status, out)
		}
	}
	if status, out, _ := api(t, n, "POST", "/api/rooms/wbstar/gifts", fanToken, map[string]any{"gift": "cake", "count": 2, "idempotency_key": "c"}); status != 201 {
		t.Fatalf("cakes: %d %v", status, out)
	}
	browsertest.Navigate(t, fan, n.base+"/wallet")
	st = browsertest.WaitState(t, fan, "", func(s map[string]any) bool { return s["status"] == "ready" }, 20*time.Second)
	if num(st, "coins") != 310-22-200 || num(st, "history") != 20 || st["historyMore"] != true || st["notice"] != "" {
		t.Fatalf("after spending: %v", st)
	}
	_ = browsertest.Eval[bool](t, fan, `document.getElementById('history-more').click(), true`)
	browsertest.WaitState(t, fan, "", func(s map[string]any) bool { return num(s, "history") == 24 && s["historyMore"] == false }, 10*time.Second)
	if hidden := browsertest.Eval[bool](t, fan, `document.getElementById('history-more').hidden`); !hidden {
		t.Error("Load more is still shown at the end of the history")
	}
	browsertest.NoSideScroll(t, fan)
	browsertest.Viewport(t, fan, 375, 800, true)
	time.Sleep(300 * time.Millisecond)
	browsertest.NoSideScroll(t, fan)
	fitsTopbar(t, fan, "a viewer's wallet at 375 px")
	browsertest.FullScreenshot(t, fan, "wallet-375")

	// The streamer's earnings: 22 (hearts: the commission rounds down to 0)
	// + 100 (two cakes at 50%).
	star := loggedInTab(t, browser, n, login(t, n, "wbstar", "wbstar-password"))
	browsertest.Navigate(t, star, n.base+"/earnings")
	st = browsertest.WaitState(t, star, "", func(s map[string]any) bool { return s["status"] == "ready" }, 30*time.Second)
	if num(st, "balance") != 122 || num(st["terms"].(map[string]any), "min") != 100 {
		t.Fatalf("earnings page: %v", st)
	}
	request := func(amount string) {
		t.Helper()
		_ = browsertest.Eval[bool](t, star, `(() => { const i = document.getElementById('withdraw-amount'); i.value = '`+amount+`'; i.dispatchEvent(new Event('input')); return true })()`)
		if err := chromedp.Do(star, chromedp.Click(chromedp.ID("withdraw-submit"))); err != nil {
			t.Fatal(err)
		}
	}
	for amount, says := range map[string]string{
		"50":  "The minimum is 100 earnings; you entered 50.",
		"500": "You have 122 earnings; you entered 500.",
		"1.5": "Enter a whole number of earnings.",
	} {
		request(amount)
		browsertest.WaitState(t, star, "", func(s map[string]any) bool { return s["formError"] == says }, 5*time.Second)
		if shown := browsertest.Eval[string](t, star, `document.getElementById('withdraw-error').textContent`); shown != says {
			t.Errorf("%s: the form shows %q", amount, shown)
		}
	}
	request("120")
	st = browsertest.WaitState(t, star, "", func(s map[string]any) bool {
		return s["done"] != "" && num(s, "requests") == 1 && s["lastStatus"] == "requested" && num(s, "balance") == 2
	}, 10*time.Second)
	if got := browsertest.Eval[string](t, star, `document.querySelector('#requests .state-pill').textContent`); got != "Waiting for approval" {
		t.Errorf("the request's state says %q", got)
	}
	browsertest.Screenshot(t, star, "earnings-requested-1280")

	_, out, _ := api(t, n, "GET", "/api/admin/withdrawals?status=requested", admin, nil)
	id := out["withdrawals"].([]any)[0].(map[string]any)["id"].(string)
	if status, out, _ := api(t, n, "POST", "/api/admin/withdrawals/"+id+"/approve", admin, map[string]any{"reason": "sent by bank transfer"}); status != 200 {
		t.Fatalf("approve: %d %v", status, out)
	}
	browsertest.Navigate(t, star, n.base+"/earnings")
	browsertest.WaitState(t, star, "", func(s map[string]any) bool { return s["status"] == "ready" && s["lastStatus"] == "approved" }, 20*time.Second)
	if got := browsertest.Eval[string](t, star, `document.querySelector('#requests .ledger-note').textContent`); got != "Note: sent by bank transfer" {
		t.Errorf("the approved request's note says %q", got)
	}
	browsertest.NoSideScroll(t, star)
	browsertest.Screenshot(t, star, "earnings-1280")
	browsertest.Viewport(t, star, 375, 800, true)
	time.Sleep(300 * time.Millisecond)
	browsertest.NoSideScroll(t, star)
	fitsTopbar(t, star, "a streamer's earnings at 375 px")
	browsertest.FullScreenshot(t, star, "earnings-375")

	// The confirm page at 375 px too.
	_, out, _ = api(t, n, "POST", "/api/wallet/orders", fanToken, map[string]any{"package": "p6", "provider": "dev", "idempotency_key": "small"})
	browsertest.Navigate(t, fan, n.base+out["checkout_url"].(string))
	browsertest.WaitState(t, fan, whereAmI, func(s map[string]any) bool { return s["pay"] == true }, 10*time.Second)
	browsertest.NoSideScroll(t, fan)
	browsertest.Screenshot(t, fan, "paydev-375")
}
