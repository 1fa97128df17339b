package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/browsertest"
)

// A viewer drops a red packet from the watch page's form; the other pages get
// its card from the room; tapping it opens the envelope with the coins won,
// or "empty" once the shares are gone; the sender may grab their own; a
// packet beyond the balance is refused in words with a way to recharge.
func TestRedPacketsBrowser(t *testing.T) {
	n := startNode(t, nil)
	createUser(t, n, "rbadmin", "admin", "rbadmin-password")
	createUser(t, n, "rbstar", "streamer", "rbstar-password")
	for _, name := range []string{"rbsender", "rbviewer", "rblate"} {
		createUser(t, n, name, "viewer", name+"-password")
	}
	admin := login(t, n, "rbadmin", "rbadmin-password")
	if status, out, _ := api(t, n, "POST", "/api/admin/users/rbsender/coins", admin, map[string]any{"coins": 500, "reason": "test", "idempotency_key": "rb"}); status != 200 {
		t.Fatalf("grant: %d %v", status, out)
	}
	browser := browsertest.Launch(t)
	num := browsertest.Num
	tabs := map[string]context.Context{}
	for _, name := range []string{"rbsender", "rbviewer", "rblate"} {
		tab := loggedInTab(t, browser, n, login(t, n, name, name+"-password"))
		browsertest.Navigate(t, tab, n.base+"/watch/rbstar")
		browsertest.WaitState(t, tab, "window.state.chat", func(s map[string]any) bool { return s["status"] == "open" }, 30*time.Second)
		tabs[name] = tab
	}
	sender, viewer, late := tabs["rbsender"], tabs["rbviewer"], tabs["rblate"]
	eval := func(tab context.Context, js string) string { t.Helper(); return browsertest.Eval[string](t, tab, js) }

	// Drop 30 coins in 2 shares from the form.
	fill := func(coins, shares string) {
		t.Helper()
		_ = browsertest.Eval[bool](t, sender, `(() => {
			if (document.getElementById('redpacket-form').hidden) document.getElementById('redpacket').click();
			document.getElementById('redpacket-coins').value = '`+coins+`';
			document.getElementById('redpacket-shares').value = '`+shares+`';
			document.getElementById('redpacket-drop').click();
			return true })()`)
	}
	fill("30", "2")
	browsertest.WaitState(t, sender, "window.state.redpackets", func(s map[string]any) bool { return num(s, "created") == 1 }, 10*time.Second)
	for _, tab := range []context.Context{sender, viewer, late} {
		browsertest.WaitState(t, tab, "window.state.redpackets", func(s map[string]any) bool { return num(s, "cards") == 1 }, 10*time.Second)
	}
	if from := eval(viewer, `document.querySelector('.redpacket-card .redpacket-from').textContent`); from != "rbsender" {
		t.Errorf("the card is from %q", from)
	}

	// The viewer taps: the envelope opens on the coins won.
	tap := func(tab context.Context) map[string]any {
		t.Helper()
		_ = browsertest.Eval[bool](t, tab, `(document.querySelector('.redpacket-card .redpacket-open-btn').click(), true)`)
		return browsertest.WaitState(t, tab, "window.state.redpackets", func(s map[string]any) bool { return s["lastResult"] != nil }, 10*time.Second)
	}
	st := tap(viewer)
	if st["lastResult"] != "won" || num(st, "lastCoins") < 1 || num(st, "lastCoins") > 29 {
		t.Fatalf("the viewer's grab: %v", st)
	}
	time.Sleep(900 * time.Millisecond) // the flap opens
	if amount := eval(viewer, `document.querySelector('#redpacket-fx .redpacket-amount').textContent`); !strings.HasPrefix(amount, "+") {
		t.Errorf("the envelope says %q", amount)
	}
	browsertest.Screenshot(t, viewer, "redpacket-opened")
	if status := eval(viewer, `document.querySelector('.redpacket-card .redpacket-status').textContent`); !strings.HasPrefix(status, "You got") {
		t.Errorf("the viewer's card says %q", status)
	}

	// The sender takes the other share; the latecomer finds it empty.
	if st := tap(sender); st["lastResult"] != "won" {
		t.Fatalf("the sender's grab: %v", st)
	}
	browsertest.WaitState(t, late, "window.state.redpackets", func(s map[string]any) bool { return num(s, "cards") <= 1 }, 5*time.Second)
	if st := tap(late); st["lastResult"] != "empty" {
		t.Fatalf("the late grab: %v", st)
	}
	time.Sleep(900 * time.Millisecond)
	if line := eval(late, `document.querySelector('#redpacket-fx .redpacket-line').textContent`); line != "This red packet is empty" {
		t.Errorf("the empty envelope says %q", line)
	}
	browsertest.Screenshot(t, late, "redpacket-empty")

	// More than the sender has: refused in words, with a way to recharge.
	fill("1000", "2")
	browsertest.WaitState(t, sender, "window.state.redpackets", func(s map[string]any) bool { return s["lastError"] == "insufficient_funds" }, 10*time.Second)
	if msg := eval(sender, `document.getElementById('redpacket-note').textContent`); !strings.HasPrefix(msg, "Not enough coins: 1000 needed, you have ") {
		t.Errorf("the refusal says %q", msg)
	}
	if href := eval(sender, `document.querySelector('#redpacket-note a').getAttribute('href')`); href != "/wallet" {
		t.Errorf("the refusal links to %q", href)
	}
	browsertest.Viewport(t, sender, 375, 800, true)
	time.Sleep(300 * time.Millisecond)
	browsertest.NoSideScroll(t, sender)
	browsertest.FullScreenshot(t, sender, "watch-redpacket-375")
	t.Log(ledgerVerify(t, n))
}
