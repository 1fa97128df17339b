package signaling

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/onair-live/onair/economy"
	"github.com/onair-live/onair/economy/payment"
	"github.com/onair-live/onair/economy/wallet"
)

// The wallet's and the payment callback's errors reach clients with the
// status a provider and a person act on, and a detail without Go's package
// prefixes. Errors that wrap two sentinels take the more specific one.
func TestWalletErrorStatuses(t *testing.T) {
	spent := fmt.Errorf("%w: order X, an admin must settle the refund: %w", wallet.ErrCoinsSpent,
		&economy.InsufficientFundsError{Account: economy.UserAccount("u", economy.Coins), Currency: economy.Coins, Needed: 310, Balance: 10})
	for _, c := range []struct {
		err    error
		status int
	}{
		{fmt.Errorf("%w: it does not match", payment.ErrBadSignature), http.StatusUnauthorized},
		{fmt.Errorf("%w: signed 6m ago", payment.ErrStaleTimestamp), http.StatusBadRequest},
		{fmt.Errorf("%w: ahead", payment.ErrFutureTimestamp), http.StatusBadRequest},
		{fmt.Errorf("%w: event e", payment.ErrReplay), http.StatusConflict},
		{fmt.Errorf("payment: callback e from dev for order \"x\": %w", fmt.Errorf("%w: x", payment.ErrUnknownOrder)), http.StatusNotFound},
		{fmt.Errorf("%w: for 3000, the callback for 1", payment.ErrAmountMismatch), http.StatusConflict},
		{fmt.Errorf("%w: order is failed", payment.ErrBadTransition), http.StatusConflict},
		{fmt.Errorf("%w: not issued here", payment.ErrBadToken), http.StatusNotFound},
		{fmt.Errorf("%w: withdraw at least 100", wallet.ErrBelowMinimum), http.StatusBadRequest},
		{&wallet.DailyLimitError{Limit: 1000, Requested: 600, Asked: 500}, http.StatusConflict},
		{fmt.Errorf("%w: approved", wallet.ErrDecided), http.StatusConflict},
		{fmt.Errorf("wallet: withdrawal of 200 earnings: %w", &economy.InsufficientFundsError{Account: economy.UserAccount("u", economy.Earnings), Currency: economy.Earnings, Needed: 200, Balance: 150}), http.StatusPaymentRequired},
		{spent, http.StatusConflict},
		{fmt.Errorf("%w: \"stripe\"", wallet.ErrUnknownProvider), http.StatusNotFound},
		{fmt.Errorf("%w: order 1", wallet.ErrNotFound), http.StatusNotFound},
	} {
		p, ok := lookup(c.err)
		if !ok || p.Status != c.status {
			t.Errorf("%v: %d (matched %v), want %d", c.err, p.Status, ok, c.status)
		}
		if strings.Contains(p.Detail, "wallet: ") || strings.Contains(p.Detail, "payment: ") {
			t.Errorf("%v: detail %q keeps a package prefix", c.err, p.Detail)
		}
	}
}
