package payment

import "fmt"

// Effect is what a callback asks of the ledger.
type Effect int

// The effects of a callback on the ledger.
const (
	EffectNone    Effect = iota // nothing moves
	EffectCredit                // credit the order's coins to the user
	EffectReverse               // take the order's coins back (a refund)
)

func (e Effect) String() string {
	switch e {
	case EffectCredit:
		return "credit"
	case EffectReverse:
		return "reverse"
	}
	return "none"
}

// transitions lists, for each state, the states a callback may move it to and
// what that asks of the ledger.
var transitions = map[Status]map[Status]Effect{
	StatusPending: {StatusPaid: EffectCredit, StatusFailed: EffectNone},
	StatusPaid:    {StatusRefunded: EffectReverse},
}

// Apply checks a callback against the order and returns the order after it
// and what the ledger must do. The callback must name this order, its
// provider and (once known) its provider order id, and carry its exact amount
// and currency. A callback repeating the current status changes nothing
// (EffectNone, no error): providers retry. Any other move than pending → paid,
// pending → failed or paid → refunded is ErrBadTransition.
func (o Order) Apply(cb Callback) (Order, Effect, error) {
	switch {
	case cb.OrderID != o.ID:
		return o, EffectNone, fmt.Errorf("%w: callback for order %q applied to order %q", ErrOrderMismatch, cb.OrderID, o.ID)
	case cb.Provider != o.Provider:
		return o, EffectNone, fmt.Errorf("%w: order %s is with provider %q, the callback came from %q",
			ErrOrderMismatch, o.ID, o.Provider, cb.Provider)
	case o.ProviderOrderID != "" && cb.ProviderOrderID != o.ProviderOrderID:
		return o, EffectNone, fmt.Errorf("%w: order %s is %q at %s, the callback names %q",
			ErrOrderMismatch, o.ID, o.ProviderOrderID, o.Provider, cb.ProviderOrderID)
	case cb.Currency != o.Currency:
		return o, EffectNone, fmt.Errorf("%w: order %s is in %s, the callback in %s", ErrCurrencyMismatch, o.ID, o.Currency, cb.Currency)
	case cb.Amount != o.Amount:
		return o, EffectNone, fmt.Errorf("%w: order %s is for %d, the callback for %d (minor units of %s)",
			ErrAmountMismatch, o.ID, o.Amount, cb.Amount, o.Currency)
	case cb.Status == o.Status:
		return o, EffectNone, nil
	}
	effect, ok := transitions[o.Status][cb.Status]
	if !ok {
		return o, EffectNone, fmt.Errorf("%w: order %s is %s and cannot become %s", ErrBadTransition, o.ID, o.Status, cb.Status)
	}
	next := o
	next.Status = cb.Status
	next.ProviderOrderID = cb.ProviderOrderID
	return next, effect, nil
}
