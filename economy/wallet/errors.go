package wallet

import (
	"errors"
	"fmt"
)

// Sentinel errors; the service wraps them with what a person needs to act.
// The edge maps them to HTTP statuses (suggested below). The ledger's
// economy.ErrInsufficientFunds (402) and economy/payment's errors pass through
// wrapped.
var (
	// ErrBadRequest: an argument the service cannot take (a missing or long
	// idempotency key, a non-positive amount). (400)
	ErrBadRequest = errors.New("wallet: bad request")
	// ErrUnknownPackage: no recharge package with that id in the current
	// terms. (400)
	ErrUnknownPackage = errors.New("wallet: no such recharge package")
	// ErrUnknownProvider: no payment provider by that name is configured. (404)
	ErrUnknownProvider = errors.New("wallet: no such payment provider")
	// ErrNotFound: no order or withdrawal with that id (for that user). (404)
	ErrNotFound = errors.New("wallet: not found")
	// ErrKeyReused: the idempotency key was used for another request of the
	// same user. (409)
	ErrKeyReused = errors.New("wallet: idempotency key already used for another request")
	// ErrBelowMinimum: a withdrawal under the minimum. (400)
	ErrBelowMinimum = errors.New("wallet: below the minimum withdrawal")
	// ErrDailyLimit: a withdrawal over what is left of the day's limit; the
	// error is a *DailyLimitError. (409)
	ErrDailyLimit = errors.New("wallet: over the daily withdrawal limit")
	// ErrDecided: the withdrawal was approved or rejected already (or is not
	// yet on hold); the error names its state. (409)
	ErrDecided = errors.New("wallet: withdrawal already decided")
	// ErrStale: the order changed state meanwhile (a concurrent callback);
	// the provider's retry is judged afresh. (409)
	ErrStale = errors.New("wallet: order changed meanwhile")
	// ErrCoinsSpent: a refund whose coins the user no longer has; the order
	// stays paid for an admin to settle. (409)
	ErrCoinsSpent = errors.New("wallet: refund refused, the user has spent the coins")
)

// DailyLimitError is the refusal of a withdrawal over the daily limit.
// errors.Is(err, ErrDailyLimit) holds for it.
type DailyLimitError struct {
	Limit, Requested, Asked int64 // earnings units: the limit, requested so far today, this request
}

func (e *DailyLimitError) Error() string {
	left := max(0, e.Limit-e.Requested)
	return fmt.Sprintf("Over the daily withdrawal limit: %d earnings a day (UTC), %d requested today, so at most %d more; you asked for %d",
		e.Limit, e.Requested, left, e.Asked)
}

// Is makes errors.Is(err, ErrDailyLimit) true.
func (e *DailyLimitError) Is(target error) bool { return target == ErrDailyLimit }
