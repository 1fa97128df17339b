package wallet_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onair-live/onair/economy"
	"github.com/onair-live/onair/economy/ledgertest"
	"github.com/onair-live/onair/economy/payment"
	"github.com/onair-live/onair/economy/sqlstore"
	"github.com/onair-live/onair/economy/wallet"
)

// order buys package p30 (3000 cents: 300 coins + 10 bonus) with the dev
// provider and returns the order and its checkout token.
func (e *env) order(user, key string) (wallet.Order, string) {
	e.t.Helper()
	o, err := e.svc.Recharge(e.t.Context(), wallet.RechargeRequest{UserID: user, Package: "p30", Provider: payment.DevName, Key: key})
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := e.dev.Confirmation(tokenOf(e.t, o.CheckoutURL))
	if err != nil {
		e.t.Fatal(err)
	}
	return o, c.Token
}

func tokenOf(t *testing.T, checkoutURL string) string {
	t.Helper()
	const prefix = "/pay/dev?token="
	if len(checkoutURL) <= len(prefix) || checkoutURL[:len(prefix)] != prefix {
		t.Fatalf("checkout URL %q is not the dev confirm page", checkoutURL)
	}
	return checkoutURL[len(prefix):] // base64url and a dot: nothing to unescape
}

func (e *env) signed(token string, status payment.Status) payment.Signed {
	e.t.Helper()
	s, err := e.dev.Callback(token, status)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) callback(s payment.Signed) (wallet.Order, error) {
	return e.svc.Callback(e.t.Context(), payment.DevName, s, s.Body)
}

func (e *env) status(id payment.OrderID) wallet.Order {
	e.t.Helper()
	o, err := e.db.Order(e.t.Context(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

func TestRechargeCredits(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		u := e.user("viewer", "viewer")
		cat, err := e.svc.Packages(t.Context())
		if err != nil || len(cat.Offers) != 4 || cat.Offers[1].Coins != 310 || cat.Currency != "CNY" || len(cat.Providers) != 1 {
			t.Fatalf("catalog %+v %v", cat, err)
		}
		o, token := e.order(u, "buy-1")
		if o.Status != payment.StatusPending || o.Coins != 310 || o.PriceCents != 3000 || o.ProviderOrderID == "" {
			t.Fatalf("order %+v", o)
		}
		again, err := e.svc.Recharge(t.Context(), wallet.RechargeRequest{UserID: u, Package: "p30", Provider: "dev", Key: "buy-1"})
		if err != nil || again.ID != o.ID || again.CheckoutURL != o.CheckoutURL {
			t.Fatalf("retry gave %+v %v, want the same order and checkout", again, err)
		}
		_, err = e.svc.Recharge(t.Context(), wallet.RechargeRequest{UserID: u, Package: "p6", Provider: "dev", Key: "buy-1"})
		wantErr(t, err, wallet.ErrKeyReused)
		_, err = e.svc.Recharge(t.Context(), wallet.RechargeRequest{UserID: u, Package: "p7", Provider: "dev", Key: "buy-2"})
		wantErr(t, err, wallet.ErrUnknownPackage)
		_, err = e.svc.Recharge(t.Context(), wallet.RechargeRequest{UserID: u, Package: "p6", Provider: "stripe", Key: "buy-2"})
		wantErr(t, err, wallet.ErrUnknownProvider)

		got, err := e.callback(e.signed(token, payment.StatusPaid))
		if err != nil || got.Status != payment.StatusPaid || got.CreditTxn == "" {
			t.Fatalf("paid callback: %+v %v", got, err)
		}
		b := e.books(u)
		want := map[economy.AccountID]int64{
			economy.UserAccount(u, economy.Coins):                    310,
			economy.PlatformAccount(economy.Issuance, economy.Coins): -310,
			economy.PlatformAccount(economy.CashIn, economy.Cents):   -3000,
			economy.PlatformAccount(economy.Revenue, economy.Cents):  3000,
		}
		for id, n := range want {
			if b.balances[id] != n {
				t.Errorf("%s = %d, want %d", id, b.balances[id], n)
			}
		}
		// The credit carries its event for the user's socket.
		page, err := e.ledger.History(t.Context(), economy.UserAccount(u, economy.Coins), "", 10)
		if err != nil || len(page.Entries) != 1 || page.Entries[0].Metadata["order"] != string(o.ID) || page.Entries[0].Kind != "recharge" {
			t.Fatalf("coin history %+v %v", page, err)
		}

		// A repeat of the paid status is answered as done and moves nothing.
		got, err = e.callback(e.signed(token, payment.StatusPaid))
		if err != nil || got.Status != payment.StatusPaid {
			t.Fatalf("repeat paid callback: %+v %v", got, err)
		}
		e.sameBooks(b, e.books(u), "a repeated paid callback")

		list, next, err := e.svc.Orders(t.Context(), wallet.OrderQuery{UserID: u, Limit: 10})
		if err != nil || len(list) != 1 || next != "" || list[0].Status != payment.StatusPaid {
			t.Fatalf("orders %+v %q %v", list, next, err)
		}
	})
}

// Each refused callback credits nothing: the books and the order stay as
// they were.
func TestCallbackRefusals(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		u := e.user("viewer", "viewer")
		o, token := e.order(u, "buy")
		before := e.books(u)
		refuse := func(what string, s payment.Signed, want error) {
			t.Helper()
			_, err := e.callback(s)
			if !errors.Is(err, want) {
				t.Fatalf("%s: got %v, want %v", what, err, want)
			}
			e.sameBooks(before, e.books(u), what)
			if got := e.status(o.ID); got.Status != payment.StatusPending || got.Settling != "" {
				t.Fatalf("%s: the order became %+v", what, got)
			}
		}

		good := e.signed(token, payment.StatusPaid)
		bad := good
		flip := "0"
		if strings.HasSuffix(good.Signature, "0") {
			flip = "1"
		}
		bad.Signature = good.Signature[:len(good.Signature)-1] + flip
		refuse("a wrong signature", bad, payment.ErrBadSignature)
		tampered := good
		tampered.Body = []byte(string(good.Body[:len(good.Body)-1]) + ` ,"x":1}`)
		refuse("a body changed after signing", tampered, payment.ErrBadSignature)
		refuse("no signature", payment.Signed{Timestamp: good.Timestamp, Body: good.Body}, payment.ErrBadSignature)

		stale := e.signed(token, payment.StatusPaid)
		e.clock.Add(payment.DefaultWindow + time.Second)
		refuse("a stale timestamp", stale, payment.ErrStaleTimestamp)
		future := e.signed(token, payment.StatusPaid) // signed W+1s ahead of the clock set back
		e.clock.Add(-2*payment.DefaultWindow - 2*time.Second)
		refuse("a timestamp from the future", future, payment.ErrFutureTimestamp)
		e.clock.Add(payment.DefaultWindow + time.Second)

		// A genuine signature on an order that does not exist, and one on
		// this order with another amount.
		ghost, err := e.dev.Checkout(t.Context(), payment.Order{ID: "01NOSUCHORDER000000000000", Provider: "dev", Amount: 3000, Currency: "CNY", Status: payment.StatusPending})
		if err != nil {
			t.Fatal(err)
		}
		refuse("an unknown order", e.signed(tokenOf(t, ghost.URL), payment.StatusPaid), payment.ErrUnknownOrder)
		// (An order whose checkout never returned takes any provider order
		// id, so only the amount tells.)
		raw, _, err := e.db.CreateOrder(t.Context(), wallet.Order{UserID: u, Key: "raw", Package: "p30", PriceCents: 3000, Currency: "CNY", Coins: 310, Provider: "dev"})
		if err != nil {
			t.Fatal(err)
		}
		cheap, err := e.dev.Checkout(t.Context(), payment.Order{ID: raw.ID, Provider: "dev", Amount: 1, Currency: "CNY", Status: payment.StatusPending})
		if err != nil {
			t.Fatal(err)
		}
		refuse("an amount mismatch", e.signed(tokenOf(t, cheap.URL), payment.StatusPaid), payment.ErrAmountMismatch)
		if got := e.status(raw.ID); got.Status != payment.StatusPending || got.Settling != "" || got.ProviderOrderID != "" {
			t.Fatalf("the order of the amount mismatch became %+v", got)
		}
		other, err := e.dev.Checkout(t.Context(), payment.Order{ID: o.ID, Provider: "dev", Amount: 3000, Currency: "CNY", Status: payment.StatusPending})
		if err != nil {
			t.Fatal(err)
		}
		refuse("another provider order", e.signed(tokenOf(t, other.URL), payment.StatusPaid), payment.ErrOrderMismatch)
		refuse("a refund of an unpaid order", e.signed(token, payment.StatusRefunded), payment.ErrBadTransition)
		_, err = e.svc.Callback(t.Context(), "stripe", good, good.Body)
		wantErr(t, err, wallet.ErrUnknownProvider)

		// The genuine callback is taken once; the same request again is a
		// replay and credits nothing more.
		replay := e.signed(token, payment.StatusPaid)
		if _, err := e.callback(replay); err != nil {
			t.Fatal(err)
		}
		before = e.books(u)
		if before.balances[economy.UserAccount(u, economy.Coins)] != 310 {
			t.Fatalf("credited %d coins, want 310", before.balances[economy.UserAccount(u, economy.Coins)])
		}
		_, err = e.callback(replay)
		wantErr(t, err, payment.ErrReplay)
		e.sameBooks(before, e.books(u), "a replay")
	})
}

// A paid callback delivered five times at once credits once: the same
// request (four are replays) and five separately signed reports.
func TestPaidCallbackConcurrent(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		u := e.user("viewer", "viewer")
		for _, same := range []bool{true, false} {
			o, token := e.order(u, fmt.Sprintf("buy-%v", same))
			one := e.signed(token, payment.StatusPaid)
			var wg sync.WaitGroup
			errs := make([]error, 5)
			for i := range 5 {
				s := one
				if !same {
					s = e.signed(token, payment.StatusPaid)
				}
				wg.Go(func() { _, errs[i] = e.callback(s) })
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case same && errors.Is(err, payment.ErrReplay):
				default:
					t.Errorf("same request %v: %v", same, err)
				}
			}
			if same && ok != 1 || !same && ok != 5 {
				t.Errorf("same request %v: %d answered as done", same, ok)
			}
			if got := e.status(o.ID); got.Status != payment.StatusPaid {
				t.Fatalf("order %+v", got)
			}
		}
		e.verify()
		if got := e.balance(u, economy.Coins); got != 2*310 {
			t.Fatalf("two orders paid 5 times each credited %d coins, want %d", got, 2*310)
		}
	})
}

func TestFailedAndRefunded(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		u := e.user("viewer", "viewer")
		failed, ftoken := e.order(u, "fail")
		before := e.books(u)
		if o, err := e.callback(e.signed(ftoken, payment.StatusFailed)); err != nil || o.Status != payment.StatusFailed {
			t.Fatalf("failed callback: %+v %v", o, err)
		}
		_, err := e.callback(e.signed(ftoken, payment.StatusPaid))
		wantErr(t, err, payment.ErrBadTransition)
		e.sameBooks(before, e.books(u), "a failed payment")
		if got := e.status(failed.ID); got.Status != payment.StatusFailed {
			t.Fatalf("order %+v", got)
		}

		// Refunded while the coins are there: reversed.
		_, token := e.order(u, "refund")
		if _, err := e.callback(e.signed(token, payment.StatusPaid)); err != nil {
			t.Fatal(err)
		}
		o, err := e.callback(e.signed(token, payment.StatusRefunded))
		if err != nil || o.Status != payment.StatusRefunded || o.RefundTxn == "" {
			t.Fatalf("refund: %+v %v", o, err)
		}
		after := e.books(u)
		if after.txns != before.txns+2 {
			t.Fatalf("a recharge and its refund made %d transactions, want 2", after.txns-before.txns)
		}
		e.sameBooks(before, books{balances: after.balances, txns: before.txns}, "a recharge and its refund")

		// Refunded after the coins were spent: refused, the order stays paid,
		// nothing moves.
		spent, stoken := e.order(u, "spent")
		if _, err := e.callback(e.signed(stoken, payment.StatusPaid)); err != nil {
			t.Fatal(err)
		}
		if _, err := e.ledger.Post(t.Context(), economy.Txn{Key: "spend", Kind: "gift", Postings: []economy.Posting{
			{Account: economy.UserAccount(u, economy.Coins), Currency: economy.Coins, Amount: -300},
			{Account: economy.PlatformAccount(economy.Issuance, economy.Coins), Currency: economy.Coins, Amount: 300},
		}}); err != nil {
			t.Fatal(err)
		}
		before = e.books(u)
		_, err = e.callback(e.signed(stoken, payment.StatusRefunded))
		wantErr(t, err, wallet.ErrCoinsSpent)
		wantErr(t, err, economy.ErrInsufficientFunds)
		t.Logf("refund refused: %v", err)
		e.sameBooks(before, e.books(u), "a refused refund")
		if got := e.status(spent.ID); got.Status != payment.StatusPaid || got.Settling != "" {
			t.Fatalf("order after a refused refund: %+v", got)
		}
	})
}

// A crash between the ledger and the order leaves them consistent: the
// reconciler (or the provider's retry) finishes, and nothing is credited
// twice.
func TestRechargeCrashRecovery(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		u := e.user("viewer", "viewer")

		// Crash after the credit committed, before the order said paid.
		o, token := e.order(u, "crash-after-post")
		e.store.failNext("FinishSettle")
		if _, err := e.callback(e.signed(token, payment.StatusPaid)); !errors.Is(err, errInjected) {
			t.Fatalf("callback: %v", err)
		}
		if got := e.status(o.ID); got.Status != payment.StatusPending || got.Settling != payment.StatusPaid {
			t.Fatalf("after the crash: %+v", got)
		}
		if got := e.balance(u, economy.Coins); got != 310 {
			t.Fatalf("coins after the crash: %d", got)
		}
		n, err := e.svc.Reconcile(t.Context(), 0)
		if err != nil || n != 1 {
			t.Fatalf("reconcile: %d %v", n, err)
		}
		if got := e.status(o.ID); got.Status != payment.StatusPaid || got.Settling != "" || got.CreditTxn == "" {
			t.Fatalf("after reconciling: %+v", got)
		}

		// Crash before the credit was posted: the provider's retry finishes.
		_, token2 := e.order(u, "crash-before-post")
		e.post.failNext()
		if _, err := e.callback(e.signed(token2, payment.StatusPaid)); !errors.Is(err, errInjected) {
			t.Fatalf("callback: %v", err)
		}
		if got := e.balance(u, economy.Coins); got != 310 {
			t.Fatalf("coins before the retry: %d", got)
		}
		if got, err := e.callback(e.signed(token2, payment.StatusPaid)); err != nil || got.Status != payment.StatusPaid {
			t.Fatalf("retry: %+v %v", got, err)
		}
		if n, err := e.svc.Reconcile(t.Context(), 0); err != nil || n != 0 {
			t.Fatalf("nothing left to reconcile, got %d %v", n, err)
		}
		if got := e.balance(u, economy.Coins); got != 620 {
			t.Fatalf("coins after two orders: %d, want 620", got)
		}
		e.verify()
	})
}

// The events of a credit are the user's envelope on the user's subject.
func TestRechargeEvent(t *testing.T) {
	e := newEnv(t, ledgertest.Engines[0])
	u := e.user("viewer", "viewer")
	o, token := e.order(u, "ev")
	if _, err := e.callback(e.signed(token, payment.StatusPaid)); err != nil {
		t.Fatal(err)
	}
	evs, err := sqlstore.New(e.db).Pending(t.Context(), 10)
	if err != nil || len(evs) != 1 {
		t.Fatalf("outbox %v %v", evs, err)
	}
	if evs[0].Subject != "onair.economy.recharge.user."+u {
		t.Fatalf("subject %q", evs[0].Subject)
	}
	var env struct {
		V    int    `json:"v"`
		Type string `json:"type"`
		User string `json:"user"`
		TS   int64  `json:"ts"`
		Body struct {
			Order   string `json:"order"`
			Coins   int64  `json:"coins"`
			Balance int64  `json:"balance"`
		} `json:"body"`
	}
	if err := json.Unmarshal(evs[0].Payload, &env); err != nil {
		t.Fatal(err)
	}
	if env.V != 1 || env.Type != "recharge" || env.User != u || env.TS != e.clock.Now().UnixMilli() ||
		env.Body.Order != string(o.ID) || env.Body.Coins != 310 || env.Body.Balance != 310 {
		t.Fatalf("event %s", evs[0].Payload)
	}
	e.verify()
}
