package store

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/onair-live/onair/economy/payment"
	"github.com/onair-live/onair/economy/wallet"
)

// The contract of wallet.Store (recharge orders and withdrawals), run on
// every engine by runContract.

func newOrder(user, key string) wallet.Order {
	return wallet.Order{UserID: user, Key: key, Package: "p6", PriceCents: 600, Currency: "CNY", Coins: 60, Provider: "dev"}
}

func testRechargeOrders(t *testing.T, db *DB) {
	ctx := t.Context()
	u := mustUser(t, db, "buyer", RoleViewer)
	other := mustUser(t, db, "other", RoleViewer)

	o, created, err := db.CreateOrder(ctx, newOrder(u.ID, "k1"))
	mustNil(t, err)
	if !created || o.ID == "" || o.Status != payment.StatusPending || o.Coins != 60 || o.CreatedAt.IsZero() || o.ProviderOrderID != "" {
		t.Fatalf("created order %+v (created %v)", o, created)
	}
	again, created, err := db.CreateOrder(ctx, wallet.Order{UserID: u.ID, Key: "k1", Package: "p30", PriceCents: 3000, Currency: "CNY", Coins: 310, Provider: "dev"})
	mustNil(t, err)
	if created || again.ID != o.ID || again.Package != "p6" {
		t.Fatalf("the same key again gave %+v (created %v), want order %s unchanged", again, created, o.ID)
	}
	if o2, created, err := db.CreateOrder(ctx, newOrder(other.ID, "k1")); err != nil || !created || o2.ID == o.ID {
		t.Fatalf("another user's k1: %+v %v %v", o2, created, err)
	}
	_, _, err = db.CreateOrder(ctx, newOrder("01NOSUCHUSER0000000000000", "k"))
	wantErr(t, err, ErrNotFound)
	_, _, err = db.CreateOrder(ctx, wallet.Order{UserID: u.ID, Key: "k2"})
	wantErr(t, err, ErrInvalid)

	// The first checkout wins; a provider order id belongs to one order.
	o, err = db.SetCheckout(ctx, o.ID, "dev_A", "/pay/dev?token=a")
	mustNil(t, err)
	if o.ProviderOrderID != "dev_A" || o.CheckoutURL != "/pay/dev?token=a" {
		t.Fatalf("after checkout: %+v", o)
	}
	if o, err = db.SetCheckout(ctx, o.ID, "dev_B", "/pay/dev?token=b"); err != nil || o.ProviderOrderID != "dev_A" {
		t.Fatalf("second checkout: %+v %v, want dev_A kept", o, err)
	}
	o3, _, err := db.CreateOrder(ctx, newOrder(u.ID, "k3"))
	mustNil(t, err)
	_, err = db.SetCheckout(ctx, o3.ID, "dev_A", "/x")
	wantErr(t, err, ErrConflict)

	_, err = db.Order(ctx, "01NOSUCHORDER000000000000")
	wantErr(t, err, ErrNotFound)
	wantErr(t, err, wallet.ErrNotFound)

	// pending → settling paid (twice is fine) → paid.
	s, err := db.BeginSettle(ctx, o.ID, payment.StatusPending, payment.StatusPaid, "ignored")
	mustNil(t, err)
	if s.Status != payment.StatusPending || s.Settling != payment.StatusPaid || s.ProviderOrderID != "dev_A" {
		t.Fatalf("settling: %+v", s)
	}
	_, err = db.BeginSettle(ctx, o.ID, payment.StatusPending, payment.StatusPaid, "")
	mustNil(t, err)
	_, err = db.MoveOrder(ctx, o.ID, payment.StatusPending, payment.StatusFailed, "")
	wantErr(t, err, wallet.ErrStale)
	open, err := db.SettlingOrders(ctx, 0, 10)
	mustNil(t, err)
	if len(open) != 1 || open[0].ID != o.ID {
		t.Fatalf("settling orders %+v, want only %s", open, o.ID)
	}
	if open, _ := db.SettlingOrders(ctx, time.Hour, 10); len(open) != 0 {
		t.Fatalf("settling orders touched over an hour ago: %+v", open)
	}
	o, err = db.FinishSettle(ctx, o.ID, payment.StatusPaid, "TXN1")
	mustNil(t, err)
	if o.Status != payment.StatusPaid || o.Settling != "" || o.CreditTxn != "TXN1" {
		t.Fatalf("finished: %+v", o)
	}
	if o, err = db.FinishSettle(ctx, o.ID, payment.StatusPaid, "TXN2"); err != nil || o.CreditTxn != "TXN1" {
		t.Fatalf("finishing twice: %+v %v", o, err)
	}
	_, err = db.BeginSettle(ctx, o.ID, payment.StatusPending, payment.StatusPaid, "")
	wantErr(t, err, wallet.ErrStale)

	// A refund opened and aborted leaves it paid; then one that finishes.
	_, err = db.BeginSettle(ctx, o.ID, payment.StatusPaid, payment.StatusRefunded, "")
	mustNil(t, err)
	mustNil(t, db.AbortSettle(ctx, o.ID, payment.StatusRefunded))
	mustNil(t, db.AbortSettle(ctx, o.ID, payment.StatusRefunded))
	if o, _ = db.Order(ctx, o.ID); o.Status != payment.StatusPaid || o.Settling != "" {
		t.Fatalf("after an aborted refund: %+v", o)
	}
	_, err = db.BeginSettle(ctx, o.ID, payment.StatusPaid, payment.StatusRefunded, "")
	mustNil(t, err)
	if o, err = db.FinishSettle(ctx, o.ID, payment.StatusRefunded, "TXN3"); err != nil || o.Status != payment.StatusRefunded || o.RefundTxn != "TXN3" || o.CreditTxn != "TXN1" {
		t.Fatalf("refunded: %+v %v", o, err)
	}

	// A move without money, recording the callback's provider order id.
	o3, err = db.MoveOrder(ctx, o3.ID, payment.StatusPending, payment.StatusFailed, "dev_C")
	mustNil(t, err)
	if o3.Status != payment.StatusFailed || o3.ProviderOrderID != "dev_C" {
		t.Fatalf("failed: %+v", o3)
	}

	// Lists: newest first, by user and status, paged by id.
	for i := range 5 {
		_, _, err := db.CreateOrder(ctx, newOrder(u.ID, fmt.Sprintf("page%d", i)))
		mustNil(t, err)
	}
	all, err := db.Orders(ctx, wallet.OrderQuery{UserID: u.ID, Limit: 100})
	mustNil(t, err)
	if len(all) != 7 {
		t.Fatalf("%d orders of the user, want 7", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i-1].ID <= all[i].ID {
			t.Fatalf("orders not newest first: %s before %s", all[i-1].ID, all[i].ID)
		}
	}
	page, err := db.Orders(ctx, wallet.OrderQuery{UserID: u.ID, Before: string(all[2].ID), Limit: 2})
	mustNil(t, err)
	if len(page) != 2 || page[0].ID != all[3].ID || page[1].ID != all[4].ID {
		t.Fatalf("page before %s: %v", all[2].ID, page)
	}
	pending, err := db.Orders(ctx, wallet.OrderQuery{Status: payment.StatusPending, Limit: 100})
	mustNil(t, err)
	if len(pending) != 6 { // 5 pages and the other user's
		t.Fatalf("%d pending orders, want 6", len(pending))
	}
}

func newWithdrawal(user, key string, earnings int64, at time.Time) wallet.Withdrawal {
	return wallet.Withdrawal{UserID: user, Key: key, Earnings: earnings, CentsPerEarning: 10, Cents: earnings * 10, CreatedAt: at}
}

func testWithdrawals(t *testing.T, db *DB) {
	ctx := t.Context()
	u := mustUser(t, db, "earner", RoleStreamer)
	admin := mustUser(t, db, "boss", RoleAdmin)
	day := time.Date(2026, 3, 1, 23, 59, 0, 0, time.UTC)

	w, created, err := db.CreateWithdrawal(ctx, newWithdrawal(u.ID, "w1", 60, day), 100)
	mustNil(t, err)
	if !created || w.Status != wallet.Holding || w.Cents != 600 || !w.CreatedAt.Equal(day) {
		t.Fatalf("created %+v (%v)", w, created)
	}
	if again, created, err := db.CreateWithdrawal(ctx, newWithdrawal(u.ID, "w1", 99, day), 100); err != nil || created || again.ID != w.ID || again.Earnings != 60 {
		t.Fatalf("the same key again: %+v %v %v", again, created, err)
	}
	// 60 + 50 > 100 on that day; the next UTC day starts afresh.
	_, _, err = db.CreateWithdrawal(ctx, newWithdrawal(u.ID, "w2", 50, day), 100)
	var limit *wallet.DailyLimitError
	if !errors.As(err, &limit) || limit.Requested != 60 || limit.Limit != 100 || limit.Asked != 50 {
		t.Fatalf("over the limit: %v", err)
	}
	next, created, err := db.CreateWithdrawal(ctx, newWithdrawal(u.ID, "w3", 50, day.Add(2*time.Minute)), 100)
	mustNil(t, err)
	if !created {
		t.Fatal("the next day's request was not created")
	}
	_, _, err = db.CreateWithdrawal(ctx, wallet.Withdrawal{UserID: u.ID, Key: "bad", Earnings: 5, CentsPerEarning: 10, Cents: 49, CreatedAt: day}, 100)
	wantErr(t, err, ErrInvalid)
	_, _, err = db.CreateWithdrawal(ctx, newWithdrawal("01NOSUCHUSER0000000000000", "x", 5, day), 100)
	wantErr(t, err, ErrNotFound)
	if n, err := db.WithdrawnOn(ctx, u.ID, day.Add(-time.Hour)); err != nil || n != 60 {
		t.Fatalf("withdrawn on the day: %d %v", n, err)
	}

	// holding → requested, with the audit entry; a second HoldPlaced keeps it.
	w, err = db.HoldPlaced(ctx, w.ID, "HOLD1")
	mustNil(t, err)
	if w.Status != wallet.Requested || w.HoldTxn != "HOLD1" {
		t.Fatalf("hold placed: %+v", w)
	}
	if w, err = db.HoldPlaced(ctx, w.ID, "HOLD2"); err != nil || w.HoldTxn != "HOLD1" {
		t.Fatalf("hold placed twice: %+v %v", w, err)
	}
	wantErr(t, db.DropWithdrawal(ctx, w.ID), wallet.ErrDecided)
	mustNil(t, db.DropWithdrawal(ctx, next.ID))
	_, err = db.Withdrawal(ctx, next.ID)
	wantErr(t, err, wallet.ErrNotFound)
	mustNil(t, db.DropWithdrawal(ctx, next.ID))
	// A holding one cannot be decided yet.
	h, _, err := db.CreateWithdrawal(ctx, newWithdrawal(u.ID, "w4", 10, day), 100)
	mustNil(t, err)
	_, err = db.DecideWithdrawal(ctx, h.ID, wallet.Approved, admin.ID, "", time.Now())
	wantErr(t, err, wallet.ErrDecided)

	// Of 8 concurrent decisions exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, lost := 0, 0
	for i := range 8 {
		wg.Go(func() {
			to := wallet.Approved
			if i%2 == 1 {
				to = wallet.Rejected
			}
			_, err := db.DecideWithdrawal(ctx, w.ID, to, admin.ID, fmt.Sprintf("click %d", i), time.Now())
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, wallet.ErrDecided):
				lost++
			default:
				t.Errorf("decision %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if wins != 1 || lost != 7 {
		t.Fatalf("%d decisions won and %d lost, want 1 and 7", wins, lost)
	}
	w, err = db.Withdrawal(ctx, w.ID)
	mustNil(t, err)
	if w.DecidedBy != admin.ID || w.DecidedAt.IsZero() || w.Reason == "" || w.SettleTxn != "" {
		t.Fatalf("decided: %+v", w)
	}
	open, err := db.UnsettledWithdrawals(ctx, 0, 10)
	mustNil(t, err)
	if len(open) != 2 { // the decided one, and w4 still holding
		t.Fatalf("unsettled %+v, want 2", open)
	}
	w, err = db.SettleWithdrawal(ctx, w.ID, "SETTLE1")
	mustNil(t, err)
	if w, err = db.SettleWithdrawal(ctx, w.ID, "SETTLE2"); err != nil || w.SettleTxn != "SETTLE1" {
		t.Fatalf("settled twice: %+v %v", w, err)
	}
	if open, _ := db.UnsettledWithdrawals(ctx, 0, 10); len(open) != 1 || open[0].ID != h.ID {
		t.Fatalf("unsettled after settling: %+v", open)
	}

	// The audit log has the request and the one decision.
	log, err := db.AuditLog(ctx, 100)
	mustNil(t, err)
	actions := map[string]int{}
	for _, e := range log {
		if e.TargetID == w.ID {
			actions[e.Action]++
		}
	}
	decision := "withdrawal_approve"
	if w.Status == wallet.Rejected {
		decision = "withdrawal_reject"
	}
	if len(actions) != 2 || actions["withdrawal_request"] != 1 || actions[decision] != 1 {
		t.Fatalf("audit entries of %s: %v", w.ID, actions)
	}

	// A rejected withdrawal no longer counts toward the day.
	if w.Status == wallet.Rejected {
		if n, _ := db.WithdrawnOn(ctx, u.ID, day); n != 10 {
			t.Fatalf("withdrawn after a rejection: %d, want 10", n)
		}
	}
	list, err := db.Withdrawals(ctx, wallet.WithdrawalQuery{UserID: u.ID, Status: wallet.Holding, Limit: 10})
	mustNil(t, err)
	if len(list) != 1 || list[0].ID != h.ID {
		t.Fatalf("holding withdrawals: %+v", list)
	}
}

// Concurrent requests of one user never pass the daily limit together.
func testWithdrawalLimitConcurrent(t *testing.T, db *DB) {
	ctx := t.Context()
	u := mustUser(t, db, "rusher", RoleStreamer)
	now := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	for i := range 10 {
		wg.Go(func() {
			_, _, err := db.CreateWithdrawal(ctx, newWithdrawal(u.ID, fmt.Sprintf("r%d", i), 30, now), 100)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, wallet.ErrDailyLimit):
				refused++
			default:
				t.Errorf("request %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if ok != 3 || refused != 7 {
		t.Fatalf("%d requests taken and %d refused, want 3 and 7 (30 each, 100 a day)", ok, refused)
	}
	if n, _ := db.WithdrawnOn(ctx, u.ID, now); n != 90 {
		t.Fatalf("withdrawn today: %d, want 90", n)
	}
}
