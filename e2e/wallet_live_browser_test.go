package e2e

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/onair-live/onair/internal/browsertest"
)

// A wallet page left open in one tab shows coins paid for in another at once:
// the recharge notice arrives on the user's socket.
func TestWalletUpdatesLive(t *testing.T) {
	n := startNode(t, nil) // --dev: dev payments on
	createUser(t, n, "wlfan", "viewer", "wlfan-password")
	token := login(t, n, "wlfan", "wlfan-password")
	browser := browsertest.Launch(t)
	num := browsertest.Num

	watching := loggedInTab(t, browser, n, token)
	browsertest.Navigate(t, watching, n.base+"/wallet")
	browsertest.WaitState(t, watching, "", func(s map[string]any) bool { return s["status"] == "ready" && num(s, "coins") == 0 }, 30*time.Second)

	paying := loggedInTab(t, browser, n, token)
	browsertest.Navigate(t, paying, n.base+"/wallet")
	browsertest.WaitState(t, paying, "", func(s map[string]any) bool { return s["status"] == "ready" }, 30*time.Second)
	_ = browsertest.Eval[bool](t, paying, `document.querySelector('.package-pay[data-package="p6"]').click(), true`)
	browsertest.WaitState(t, paying, whereAmI, func(s map[string]any) bool { return s["pay"] == true }, 20*time.Second)
	if err := chromedp.Do(paying, chromedp.Click(chromedp.ID("paydev-pay"))); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitState(t, paying, "", func(s map[string]any) bool { return num(s, "coins") == 60 }, 20*time.Second)
	// The other tab was not reloaded and is in the foreground of nothing: only
	// the socket can tell it.
	browsertest.WaitState(t, watching, "", func(s map[string]any) bool { return num(s, "coins") == 60 && num(s, "orders") == 1 }, 10*time.Second)
}
