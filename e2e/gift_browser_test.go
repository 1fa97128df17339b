package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/onair-live/onair/internal/browsertest"
)

// A viewer buys coins with the dev payment provider, then sends gifts from the
// watch page's gift bar; another
// viewer's page shows the banner with a rising combo and the full-screen
// effect of a big gift, and its leaderboard ranks the sender; the sender's
// coins go down; a gift beyond the balance says so with a way to recharge.
func TestGiftsBrowser(t *testing.T) {
	n := startNode(t, nil)
	star := createUser(t, n, "gbstar", "streamer", "gbstar-password")
	createUser(t, n, "gbfan", "viewer", "gbfan-password")
	publishSynthetic(t, n, "gbstar", star["stream_key"], 30, false)
	browser := browsertest.Launch(t)
	num := browsertest.Num

	// The fan buys coins with the dev provider: the wallet's Pay, the confirm
	// page's Pay, back with p298's 2,980 + 200 bonus coins.
	fan := loggedInTab(t, browser, n, login(t, n, "gbfan", "gbfan-password"))
	browsertest.Navigate(t, fan, n.base+"/wallet")
	browsertest.WaitState(t, fan, "", func(s map[string]any) bool { return s["status"] == "ready" }, 30*time.Second)
	_ = browsertest.Eval[bool](t, fan, `document.querySelector('.package-pay[data-package="p298"]').click(), true`)
	browsertest.WaitState(t, fan, whereAmI, func(s map[string]any) bool { return s["path"] == "/pay/dev" && s["pay"] == true }, 20*time.Second)
	if err := chromedp.Do(fan, chromedp.Click(chromedp.ID("paydev-pay"))); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitState(t, fan, "", func(s map[string]any) bool { return s["status"] == "ready" && num(s, "coins") == 3180 }, 20*time.Second)

	browsertest.Navigate(t, fan, n.base+"/watch/gbstar")
	other := isolatedTab(t, browser)
	browsertest.Navigate(t, other, n.base+"/watch/gbstar")
	browsertest.WaitState(t, fan, "window.state.gifts", func(s map[string]any) bool {
		return num(s, "coins") == 3180 && len(s["catalog"].([]any)) == 5
	}, 30*time.Second)
	for _, tab := range []context.Context{fan, other} {
		browsertest.WaitState(t, tab, "window.state.chat", func(s map[string]any) bool { return s["status"] == "open" }, 30*time.Second)
	}

	click := func(gift string) {
		t.Helper()
		_ = browsertest.Eval[bool](t, fan, `document.querySelector('.gift-item[data-gift="`+gift+`"]').click(), true`)
	}
	click("rose")
	browsertest.WaitState(t, fan, "window.state.gifts", func(s map[string]any) bool { return num(s, "sent") == 1 }, 10*time.Second)
	_ = browsertest.Eval[bool](t, fan, `(() => { const c = document.getElementById('gift-count'); c.value = '10'; c.dispatchEvent(new Event('change')); return true })()`)
	click("rose")
	st := browsertest.WaitState(t, other, "window.state.gifts", func(s map[string]any) bool {
		return num(s, "lastCombo") == 11 && num(s, "banners") == 1
	}, 15*time.Second)
	t.Logf("the other page after the combo: %v", st)
	if got := browsertest.Eval[string](t, other, `document.querySelector('#gift-fx .gift-combo').textContent`); got != "×11" {
		t.Errorf("the banner's combo says %q", got)
	}
	if got := browsertest.Eval[string](t, other, `document.querySelector('#gift-fx .gift-banner-from').textContent`); got != "gbfan" {
		t.Errorf("the banner is from %q", got)
	}
	_ = browsertest.Eval[bool](t, fan, `(() => { const c = document.getElementById('gift-count'); c.value = '1'; return true })()`)
	click("rocket")
	browsertest.WaitState(t, other, "window.state.gifts", func(s map[string]any) bool { return num(s, "fullscreen") == 1 }, 15*time.Second)
	time.Sleep(700 * time.Millisecond)
	browsertest.Screenshot(t, other, "fullscreen-gift")
	st = browsertest.WaitState(t, other, "window.state.gifts", func(s map[string]any) bool {
		b, _ := s["board"].([]any)
		return len(b) == 1 && num(b[0].(map[string]any), "score") == 1110
	}, 15*time.Second)
	if name := st["board"].([]any)[0].(map[string]any)["name"]; name != "gbfan" {
		t.Errorf("the leaderboard's first is %v", name)
	}
	browsertest.WaitState(t, fan, "window.state.gifts", func(s map[string]any) bool { return num(s, "coins") == 2070 }, 10*time.Second)

	// A castle (5,000) with 2,070 coins: refused in words, with a way to recharge.
	click("castle")
	browsertest.WaitState(t, fan, "window.state.gifts", func(s map[string]any) bool { return s["lastError"] == "insufficient_funds" }, 10*time.Second)
	if msg := browsertest.Eval[string](t, fan, `document.getElementById('gift-note').textContent`); msg == "" {
		t.Error("the refusal is not shown")
	}
	if href := browsertest.Eval[string](t, fan, `document.querySelector('#gift-note a').getAttribute('href')`); href != "/wallet" {
		t.Errorf("the refusal links to %q", href)
	}
	if st := browsertest.Eval[map[string]any](t, other, "window.state.gifts"); num(st, "fullscreen") != 1 {
		t.Errorf("a refused gift played an effect: %v", st)
	}
	browsertest.Screenshot(t, fan, "gift-bar")
	browsertest.Viewport(t, fan, 375, 800, true)
	time.Sleep(300 * time.Millisecond)
	browsertest.NoSideScroll(t, fan)
	browsertest.FullScreenshot(t, fan, "watch-gifts-375")
}
