package economy

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Methods wrap them with %w and the detail; test with
// errors.Is. The edge maps them to HTTP status codes.
var (
	// ErrInsufficientFunds: the transaction would take an account below zero.
	// The error is an [*InsufficientFundsError] naming the account.
	ErrInsufficientFunds = errors.New("insufficient funds")
	// ErrKeyReused: the idempotency key belongs to a committed transaction
	// with other parameters (kind, postings or metadata).
	ErrKeyReused = errors.New("idempotency key reused with different parameters")
	// ErrInvalid: a transaction or argument the ledger cannot accept (postings
	// that do not balance, a zero amount, an unknown account or currency, a
	// malformed key or cursor, a size over the limits).
	ErrInvalid = errors.New("invalid transaction")
	// ErrNotFound: no account by that id has been used yet.
	ErrNotFound = errors.New("not found")
	// ErrClosed: the ledger was closed.
	ErrClosed = errors.New("ledger closed")
)

// InsufficientFundsError is the refusal of a transaction that would take
// Account below zero. errors.Is(err, ErrInsufficientFunds) holds for it.
type InsufficientFundsError struct {
	Account  AccountID
	Currency Currency
	Needed   int64 // what the transaction takes from the account
	Balance  int64 // what the account had when the transaction was checked
}

// Error is a sentence a person can act on; for a platform account, which the
// user does not own, it names the account.
func (e *InsufficientFundsError) Error() string {
	if strings.HasPrefix(string(e.Account), platformPrefix) {
		return fmt.Sprintf("Not enough %s in %s: %d needed, it has %d", e.Currency, e.Account, e.Needed, e.Balance)
	}
	return fmt.Sprintf("Not enough %s: %d needed, you have %d", e.Currency, e.Needed, e.Balance)
}

// Is makes errors.Is(err, ErrInsufficientFunds) true.
func (e *InsufficientFundsError) Is(target error) bool { return target == ErrInsufficientFunds }

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}
