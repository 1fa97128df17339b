package wallet

import (
	"encoding/json"
	"strconv"

	"github.com/onair-live/onair/economy"
	"github.com/onair-live/onair/economy/payment"
)

// The ledger transactions of this package. Each is built from a stored row
// alone, so that a repeat (a retry, the reconciler) has the same fingerprint.

var (
	cashIn           = economy.PlatformAccount(economy.CashIn, economy.Cents)
	revenueCents     = economy.PlatformAccount(economy.Revenue, economy.Cents)
	issuanceCoins    = economy.PlatformAccount(economy.Issuance, economy.Coins)
	issuanceEarnings = economy.PlatformAccount(economy.Issuance, economy.Earnings)
	issuanceCents    = economy.PlatformAccount(economy.Issuance, economy.Cents)
	holds            = economy.PlatformAccount(economy.Holds, economy.Earnings)
	payouts          = economy.PlatformAccount(economy.Payouts, economy.Cents)
)

func posting(a economy.AccountID, c economy.Currency, n int64) economy.Posting {
	return economy.Posting{Account: a, Currency: c, Amount: n}
}

// envelope is a user event's payload: a /ws/me envelope without id (the
// feed sets the transaction's).
type envelope struct {
	V    int    `json:"v"`
	Type string `json:"type"`
	User string `json:"user"`
	TS   int64  `json:"ts"`
	Body any    `json:"body"`
}

// RechargeEvent is the body of a recharge event.
type RechargeEvent struct {
	Order   string `json:"order"`
	Status  string `json:"status"`  // paid or refunded
	Coins   int64  `json:"coins"`   // credited (negative: taken back)
	Balance int64  `json:"balance"` // see the package doc
}

// WithdrawalEvent is the body of a withdrawal event.
type WithdrawalEvent struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Earnings int64  `json:"earnings"`
	Cents    int64  `json:"cents"`
	Reason   string `json:"reason,omitempty"`
}

// userEvent is the outbox event of a transaction of kind for user.
func userEvent(kind, typ, user string, tsMS int64, body any) *economy.Event {
	b, err := json.Marshal(envelope{V: 1, Type: typ, User: user, TS: tsMS, Body: body})
	if err != nil { // plain structs always marshal
		panic(err)
	}
	return &economy.Event{Subject: "onair.economy." + kind + ".user." + user, Payload: b}
}

// settleKey is the ledger key of an order's move to next: the one
// payment.Decision.LedgerKey gives the callback that asked for it.
func settleKey(o Order, next payment.Status) string {
	effect := payment.EffectCredit
	if next == payment.StatusRefunded {
		effect = payment.EffectReverse
	}
	return payment.Decision{Callback: payment.Callback{Provider: o.Provider, ProviderOrderID: o.ProviderOrderID}, Effect: effect}.LedgerKey()
}

// settleTxn is the credit (next paid) or reversal (next refunded) of o.
// balance is the user's coins before it, for the event.
func settleTxn(o Order, next payment.Status, balance, tsMS int64) economy.Txn {
	sign, kind := int64(1), "recharge"
	if next == payment.StatusRefunded {
		sign, kind = -1, "recharge_refund"
	}
	return economy.Txn{
		Key:  settleKey(o, next),
		Kind: kind,
		Postings: []economy.Posting{
			posting(cashIn, economy.Cents, -sign*o.PriceCents),
			posting(revenueCents, economy.Cents, sign*o.PriceCents),
			posting(issuanceCoins, economy.Coins, -sign*o.Coins),
			posting(economy.UserAccount(o.UserID, economy.Coins), economy.Coins, sign*o.Coins),
		},
		Event: userEvent("recharge", "recharge", o.UserID, tsMS,
			RechargeEvent{Order: string(o.ID), Status: string(next), Coins: sign * o.Coins, Balance: balance + sign*o.Coins}),
		Metadata: map[string]string{
			"order": string(o.ID), "package": o.Package, "provider": o.Provider,
			"provider_order": o.ProviderOrderID, "price_cents": strconv.FormatInt(o.PriceCents, 10),
		},
	}
}

// withdrawalTxn is the ledger transaction of w's step: request (the hold),
// approve or reject, by w's state and w alone.
func withdrawalTxn(w Withdrawal, step string, tsMS int64) economy.Txn {
	user := economy.UserAccount(w.UserID, economy.Earnings)
	meta := map[string]string{"withdrawal": w.ID, "cents": strconv.FormatInt(w.Cents, 10)}
	var ps []economy.Posting
	status := w.Status
	switch step {
	case "request":
		ps = []economy.Posting{posting(user, economy.Earnings, -w.Earnings), posting(holds, economy.Earnings, w.Earnings)}
		status = Requested
	case "approve":
		ps = []economy.Posting{
			posting(holds, economy.Earnings, -w.Earnings), posting(issuanceEarnings, economy.Earnings, w.Earnings),
			posting(issuanceCents, economy.Cents, -w.Cents), posting(payouts, economy.Cents, w.Cents),
		}
		meta["by"] = w.DecidedBy
	case "reject":
		ps = []economy.Posting{posting(holds, economy.Earnings, -w.Earnings), posting(user, economy.Earnings, w.Earnings)}
		meta["by"] = w.DecidedBy
	}
	return economy.Txn{
		Key:      "withdrawal:" + step + ":" + w.ID,
		Kind:     "withdrawal_" + step,
		Postings: ps,
		Event: userEvent("withdrawal", "withdrawal", w.UserID, tsMS,
			WithdrawalEvent{ID: w.ID, Status: string(status), Earnings: w.Earnings, Cents: w.Cents, Reason: w.Reason}),
		Metadata: meta,
	}
}

// step is the ledger step of a decided withdrawal.
func step(w Withdrawal) string {
	if w.Status == Approved {
		return "approve"
	}
	return "reject"
}
