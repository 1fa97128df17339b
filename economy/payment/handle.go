package payment

import (
	"context"
	"fmt"
)

// Decision is what a verified callback asks of the caller.
type Decision struct {
	Callback Callback
	Order    Order  // the order as found
	Next     Order  // the order after the callback
	Effect   Effect // what the ledger must do
}

// LedgerKey is the idempotency key for the ledger transaction of the
// decision's effect: one credit per provider order, and one reversal.
func (d Decision) LedgerKey() string {
	return "recharge:" + d.Effect.String() + ":" + d.Callback.Provider + ":" + d.Callback.ProviderOrderID
}

// Handle takes a provider's callback: p verifies and decodes it, orders finds
// its order, Order.Apply checks it, and guard records its event, in that
// order, so that a callback refused for any reason is not recorded and the
// provider's retry is judged afresh. It returns the first error met,
// wrapping one of the sentinels in errors.go (or the error of orders or
// guard); the Decision is then zero and nothing is to be credited.
func Handle(ctx context.Context, p Provider, guard ReplayGuard, orders Orders, h Headers, body []byte) (Decision, error) {
	cb, err := p.ParseCallback(h, body)
	if err != nil {
		return Decision{}, err
	}
	o, err := orders.Find(ctx, cb.OrderID)
	if err != nil {
		return Decision{}, fmt.Errorf("payment: callback %s from %s for order %q: %w", cb.EventID, cb.Provider, cb.OrderID, err)
	}
	next, effect, err := o.Apply(cb)
	if err != nil {
		return Decision{}, err
	}
	seen, err := guard.Seen(ctx, cb.Provider, cb.EventID, cb.ValidUntil)
	switch {
	case err != nil:
		return Decision{}, fmt.Errorf("payment: replay guard: %w", err)
	case seen:
		return Decision{}, fmt.Errorf("%w: event %s from %s for order %s", ErrReplay, cb.EventID, cb.Provider, cb.OrderID)
	}
	return Decision{Callback: cb, Order: o, Next: next, Effect: effect}, nil
}
