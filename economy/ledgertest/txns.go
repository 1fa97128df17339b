package ledgertest

import (
	"strconv"

	"github.com/onair-live/onair/economy"
)

// The shapes of the economy's transactions, as the property test and the
// benchmarks post them.

var (
	issuanceCoins    = economy.PlatformAccount(economy.Issuance, economy.Coins)
	issuanceEarnings = economy.PlatformAccount(economy.Issuance, economy.Earnings)
	revenueEarnings  = economy.PlatformAccount(economy.Revenue, economy.Earnings)
	revenueCents     = economy.PlatformAccount(economy.Revenue, economy.Cents)
	cashIn           = economy.PlatformAccount(economy.CashIn, economy.Cents)
	escrowCoins      = economy.PlatformAccount(economy.Escrow, economy.Coins)
	holdsEarnings    = economy.PlatformAccount(economy.Holds, economy.Earnings)
	payoutsEarnings  = economy.PlatformAccount(economy.Payouts, economy.Earnings)
)

func post(a economy.AccountID, c economy.Currency, n int64) economy.Posting {
	return economy.Posting{Account: a, Currency: c, Amount: n}
}

// Recharge: the user paid cents (0: none, a grant) and gets coins minted.
func Recharge(key, user string, cents, coins int64) economy.Txn {
	t := economy.Txn{Key: key, Kind: "recharge", Postings: []economy.Posting{
		post(issuanceCoins, economy.Coins, -coins),
		post(economy.UserAccount(user, economy.Coins), economy.Coins, coins),
	}}
	if cents > 0 {
		t.Postings = append(t.Postings, post(cashIn, economy.Cents, -cents), post(revenueCents, economy.Cents, cents))
	}
	return t
}

// Gift: the sender's coins go back to issuance; the same value is created as
// earnings, split between the streamer and the platform's commission
// (commission percent).
func Gift(key, from, to string, price, commission int64) economy.Txn {
	fee := price * commission / 100
	t := economy.Txn{Key: key, Kind: "gift", Postings: []economy.Posting{
		post(economy.UserAccount(from, economy.Coins), economy.Coins, -price),
		post(issuanceCoins, economy.Coins, price),
		post(issuanceEarnings, economy.Earnings, -price),
		post(economy.UserAccount(to, economy.Earnings), economy.Earnings, price-fee),
	}, Metadata: map[string]string{"to": to, "price": strconv.FormatInt(price, 10)}}
	if fee > 0 {
		t.Postings = append(t.Postings, post(revenueEarnings, economy.Earnings, fee))
	}
	t.Event = &economy.Event{Subject: "room." + to + ".gift",
		Payload: []byte(`{"v":1,"type":"gift","room":"` + to + `","from":{"id":"` + from + `"},"body":{"gift":"rose","count":1,"coins":` + strconv.FormatInt(price, 10) + `}}`)}
	return t
}

// Escrow: coins of a red packet leave the user for escrow.
func Escrow(key, user string, coins int64) economy.Txn {
	return economy.Txn{Key: key, Kind: "redpacket_create", Postings: []economy.Posting{
		post(economy.UserAccount(user, economy.Coins), economy.Coins, -coins),
		post(escrowCoins, economy.Coins, coins),
	}}
}

// Release: coins leave escrow for a user: a grabbed share, or the refund of
// what nobody grabbed.
func Release(key, user string, coins int64) economy.Txn {
	return economy.Txn{Key: key, Kind: "redpacket_release", Postings: []economy.Posting{
		post(escrowCoins, economy.Coins, -coins),
		post(economy.UserAccount(user, economy.Coins), economy.Coins, coins),
	}}
}

// Hold: a withdrawal request moves earnings to holds.
func Hold(key, user string, earnings int64) economy.Txn {
	return economy.Txn{Key: key, Kind: "withdrawal_request", Postings: []economy.Posting{
		post(economy.UserAccount(user, economy.Earnings), economy.Earnings, -earnings),
		post(holdsEarnings, economy.Earnings, earnings),
	}}
}

// Approve pays a held withdrawal out.
func Approve(key string, earnings int64) economy.Txn {
	return economy.Txn{Key: key, Kind: "withdrawal_approve", Postings: []economy.Posting{
		post(holdsEarnings, economy.Earnings, -earnings),
		post(payoutsEarnings, economy.Earnings, earnings),
	}}
}

// Reject returns a held withdrawal to the user.
func Reject(key, user string, earnings int64) economy.Txn {
	return economy.Txn{Key: key, Kind: "withdrawal_reject", Postings: []economy.Posting{
		post(holdsEarnings, economy.Earnings, -earnings),
		post(economy.UserAccount(user, economy.Earnings), economy.Earnings, earnings),
	}}
}
