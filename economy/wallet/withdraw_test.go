package wallet_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onair-live/onair/economy"
	"github.com/onair-live/onair/economy/wallet"
	"github.com/onair-live/onair/store"
)

var (
	holds          = economy.PlatformAccount(economy.Holds, economy.Earnings)
	issuanceEarn   = economy.PlatformAccount(economy.Issuance, economy.Earnings)
	issuanceCents  = economy.PlatformAccount(economy.Issuance, economy.Cents)
	payoutsAccount = economy.PlatformAccount(economy.Payouts, economy.Cents)
)

func (e *env) withdraw(user string, earnings int64, key string) (wallet.Withdrawal, error) {
	return e.svc.Withdraw(e.t.Context(), wallet.WithdrawRequest{UserID: user, Earnings: earnings, Key: key})
}

// Refusals say what is wrong in words, and leave neither money on hold nor a
// withdrawal behind.
func TestWithdrawRefusals(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		u := e.user("star", store.RoleStreamer)
		e.grant(u, 5000) // min 100, daily limit 1000, 10 cents each
		before := e.books(u)
		for _, c := range []struct {
			earnings int64
			key      string
			want     error
			says     string
		}{
			{99, "small", wallet.ErrBelowMinimum, "withdraw at least 100 earnings; you asked for 99"},
			{1001, "big", wallet.ErrDailyLimit, "1000 earnings a day (UTC), 0 requested today, so at most 1000 more; you asked for 1001"},
			{100, "", wallet.ErrBadRequest, "idempotency_key"},
		} {
			_, err := e.withdraw(u, c.earnings, c.key)
			wantErr(t, err, c.want)
			if !strings.Contains(err.Error(), c.says) {
				t.Errorf("%d earnings: %q does not say %q", c.earnings, err, c.says)
			}
		}
		e.sameBooks(before, e.books(u), "refused withdrawals")

		// Within the limit in two requests; the third goes over it.
		w, err := e.withdraw(u, 600, "a")
		if err != nil || w.Status != wallet.Requested || w.Cents != 6000 || w.HoldTxn == "" {
			t.Fatalf("withdrawal %+v %v", w, err)
		}
		if again, err := e.withdraw(u, 600, "a"); err != nil || again.ID != w.ID {
			t.Fatalf("retry: %+v %v", again, err)
		}
		_, err = e.withdraw(u, 500, "a")
		wantErr(t, err, wallet.ErrKeyReused)
		_, err = e.withdraw(u, 500, "b")
		var limit *wallet.DailyLimitError
		if !errors.As(err, &limit) || limit.Requested != 600 || !strings.Contains(err.Error(), "so at most 400 more") {
			t.Fatalf("over the day's limit: %v", err)
		}
		if _, err := e.withdraw(u, 400, "c"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.withdraw(u, 1001, "d"); !errors.Is(err, wallet.ErrDailyLimit) || !strings.Contains(err.Error(), "1000 requested today, so at most 0 more") {
			t.Fatalf("over the limit by itself, after the day's requests: %v", err)
		}
		// A new UTC day has a new limit.
		e.clock.Add(24 * time.Hour)
		terms, err := e.svc.WithdrawTerms(t.Context(), u)
		if err != nil || terms.RequestedToday != 0 || terms.Balance != 4000 || terms.Min != 100 || terms.DailyLimit != 1000 || terms.CentsPerEarning != 10 {
			t.Fatalf("terms the next day: %+v %v", terms, err)
		}

		// More than the balance: refused by the ledger, nothing left behind.
		poor := e.user("poor", store.RoleStreamer)
		e.grant(poor, 150)
		before = e.books(u, poor)
		_, err = e.withdraw(poor, 200, "p")
		wantErr(t, err, economy.ErrInsufficientFunds)
		if !strings.Contains(err.Error(), "Not enough earnings: 200 needed, you have 150") {
			t.Errorf("insufficient earnings say %q", err)
		}
		e.sameBooks(before, e.books(u, poor), "a withdrawal over the balance")
		list, _, err := e.svc.Withdrawals(t.Context(), wallet.WithdrawalQuery{UserID: poor, Limit: 10})
		if err != nil || len(list) != 0 {
			t.Fatalf("the refused request left %+v %v", list, err)
		}
		// ...and it did not count toward the day's limit.
		if terms, _ := e.svc.WithdrawTerms(t.Context(), poor); terms.RequestedToday != 0 {
			t.Fatalf("a refused request counts %d toward the limit", terms.RequestedToday)
		}
		b := e.books(u)
		if b.balances[holds] != 1000 || b.balances[economy.UserAccount(u, economy.Earnings)] != 4000 {
			t.Fatalf("after holding 1000: %v", b.balances)
		}
	})
}

// Eight admins click at once: one approval (or rejection) is taken, the
// others are told it was decided, and the money moves once.
func TestDecideConcurrent(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		u := e.user("star", store.RoleStreamer)
		admin := e.user("boss", store.RoleAdmin)
		e.grant(u, 1000)
		for _, c := range []struct {
			decide func(id string, i int) (wallet.Withdrawal, error)
			want   wallet.WithdrawalStatus
		}{
			{func(id string, i int) (wallet.Withdrawal, error) {
				return e.svc.Approve(t.Context(), id, admin, fmt.Sprintf("paid by bank, click %d", i))
			}, wallet.Approved},
			{func(id string, i int) (wallet.Withdrawal, error) {
				return e.svc.Reject(t.Context(), id, admin, fmt.Sprintf("account details wrong, click %d", i))
			}, wallet.Rejected},
		} {
			w, err := e.withdraw(u, 300, string(c.want))
			if err != nil {
				t.Fatal(err)
			}
			before := e.books(u)
			var wg sync.WaitGroup
			var mu sync.Mutex
			var won []wallet.Withdrawal
			for i := range 8 {
				wg.Go(func() {
					got, err := c.decide(w.ID, i)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						won = append(won, got)
					case errors.Is(err, wallet.ErrDecided):
						if !strings.Contains(err.Error(), string(c.want)) {
							t.Errorf("the loser's error %q does not say %s", err, c.want)
						}
					default:
						t.Errorf("click %d: %v", i, err)
					}
				})
			}
			wg.Wait()
			if len(won) != 1 || won[0].Status != c.want || won[0].SettleTxn == "" || won[0].DecidedBy != admin {
				t.Fatalf("%s: %d clicks won: %+v", c.want, len(won), won)
			}
			after := e.books(u)
			if after.txns != before.txns+1 {
				t.Fatalf("%s made %d transactions, want 1", c.want, after.txns-before.txns)
			}
			d := func(id economy.AccountID) int64 { return after.balances[id] - before.balances[id] }
			user := economy.UserAccount(u, economy.Earnings)
			if d(holds) != -300 {
				t.Errorf("%s: holds moved %d, want -300", c.want, d(holds))
			}
			if c.want == wallet.Approved && (d(issuanceEarn) != 300 || d(issuanceCents) != -3000 || d(payoutsAccount) != 3000 || d(user) != 0) {
				t.Errorf("approval moved %v", after.balances)
			}
			if c.want == wallet.Rejected && (d(user) != 300 || d(payoutsAccount) != 0) {
				t.Errorf("rejection moved %v", after.balances)
			}
			// Every step is in the audit log: the request and the decision.
			log, err := e.db.AuditLog(t.Context(), 100)
			if err != nil {
				t.Fatal(err)
			}
			steps := map[string]string{}
			for _, a := range log {
				if a.TargetID == w.ID {
					steps[a.Action] = a.ActorID + " " + a.Reason
				}
			}
			if len(steps) != 2 || !strings.HasPrefix(steps["withdrawal_request"], u+" 300 earnings for 3000 cents") ||
				!strings.HasPrefix(steps["withdrawal_"+map[wallet.WithdrawalStatus]string{wallet.Approved: "approve", wallet.Rejected: "reject"}[c.want]], admin+" ") {
				t.Errorf("audit of %s: %v", w.ID, steps)
			}
		}
		_, err := e.svc.Reject(t.Context(), "01NOSUCHWITHDRAWAL0000000", admin, "x")
		wantErr(t, err, wallet.ErrNotFound)
		_, err = e.svc.Reject(t.Context(), "01NOSUCHWITHDRAWAL0000000", admin, "")
		wantErr(t, err, wallet.ErrBadRequest)
		ws, next, err := e.svc.Withdrawals(t.Context(), wallet.WithdrawalQuery{Limit: 1})
		if err != nil || len(ws) != 1 || next != ws[0].ID || ws[0].Status != wallet.Rejected {
			t.Fatalf("the newest withdrawal: %+v %q %v", ws, next, err)
		}
		e.verify()
	})
}

// A crash between a withdrawal's row and its ledger transaction is finished
// by the reconciler, moving the money once.
func TestWithdrawCrashRecovery(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		u := e.user("star", store.RoleStreamer)
		admin := e.user("boss", store.RoleAdmin)
		e.grant(u, 1000)

		e.store.failNext("HoldPlaced") // the hold committed; the row still says holding
		if _, err := e.withdraw(u, 200, "h"); !errors.Is(err, errInjected) {
			t.Fatalf("withdraw: %v", err)
		}
		e.post.failNext() // the row says holding; no hold was posted
		if _, err := e.withdraw(u, 300, "p"); !errors.Is(err, errInjected) {
			t.Fatalf("withdraw: %v", err)
		}
		if n, err := e.svc.Reconcile(t.Context(), 0); err != nil || n != 2 {
			t.Fatalf("reconcile: %d %v", n, err)
		}
		ws, _, err := e.svc.Withdrawals(t.Context(), wallet.WithdrawalQuery{UserID: u, Limit: 10})
		if err != nil || len(ws) != 2 || ws[0].Key != "p" || ws[0].Status != wallet.Requested || ws[1].Status != wallet.Requested {
			t.Fatalf("after reconciling (newest first): %+v %v", ws, err)
		}
		if b := e.books(u); b.balances[holds] != 500 || b.balances[economy.UserAccount(u, economy.Earnings)] != 500 {
			t.Fatalf("balances %v", b.balances)
		}

		// A decision whose transaction was posted but not recorded, and one
		// never posted.
		e.store.failNext("SettleWithdrawal")
		if _, err := e.svc.Approve(t.Context(), ws[0].ID, admin, ""); !errors.Is(err, errInjected) {
			t.Fatalf("approve: %v", err)
		}
		e.post.failNext()
		if _, err := e.svc.Reject(t.Context(), ws[1].ID, admin, "no"); !errors.Is(err, errInjected) {
			t.Fatalf("reject: %v", err)
		}
		_, err = e.svc.Approve(t.Context(), ws[1].ID, admin, "")
		wantErr(t, err, wallet.ErrDecided)
		if n, err := e.svc.Reconcile(t.Context(), 0); err != nil || n != 2 {
			t.Fatalf("reconcile: %d %v", n, err)
		}
		b := e.books(u)
		// Approved 300 (the newest), rejected 200.
		if b.balances[holds] != 0 || b.balances[economy.UserAccount(u, economy.Earnings)] != 700 || b.balances[payoutsAccount] != 3000 {
			t.Fatalf("balances %v", b.balances)
		}
		if n, _ := e.svc.Reconcile(t.Context(), 0); n != 0 {
			t.Fatalf("reconciled %d more", n)
		}
	})
}
