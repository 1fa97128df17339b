package payment

import (
	"context"
	"time"
)

// OrderID names a recharge order in onair's store.
type OrderID string

// Status is an order's state.
type Status string

// The states of an order: pending → paid | failed; paid → refunded.
const (
	StatusPending  Status = "pending"
	StatusPaid     Status = "paid"
	StatusFailed   Status = "failed"
	StatusRefunded Status = "refunded"
)

// Order is a recharge order as payment sees it.
type Order struct {
	ID       OrderID
	Provider string // the Provider's Name
	// ProviderOrderID is the provider's id for it, set from Checkout; until
	// then empty, and any callback's id is taken.
	ProviderOrderID string
	Amount          int64  // in the currency's minor unit (cents)
	Currency        string // ISO 4217, upper case: "USD"
	Status          Status
}

// Checkout is where the user goes to pay.
type Checkout struct {
	ProviderOrderID string
	URL             string // the page to send the user to
	Instructions    string // a line to show beside the link
}

// Callback is a provider's verified report on an order.
type Callback struct {
	Provider        string // the Provider's Name
	EventID         string // the provider's id for this report: what the ReplayGuard keys on
	ProviderOrderID string
	OrderID         OrderID
	Amount          int64  // minor units
	Currency        string // ISO 4217, upper case
	Status          Status // StatusPaid, StatusFailed or StatusRefunded
	At              time.Time
	// ValidUntil is when the same signed request stops being accepted as
	// fresh: a ReplayGuard need not remember the event past it.
	ValidUntil time.Time
}

// Headers is what a callback's request headers must offer; http.Header does.
// Get is expected to match names without regard to case.
type Headers interface {
	Get(name string) string
}

// Provider is a payment gateway.
type Provider interface {
	// Name is the provider's stable name, stored on orders and used in
	// callback URLs: "dev".
	Name() string
	// Checkout opens the provider's side of a pending order and says where
	// the user pays. It does not change o.
	Checkout(ctx context.Context, o Order) (Checkout, error)
	// ParseCallback verifies a callback request, given its raw headers and
	// body, and decodes it. It never returns a Callback without a valid
	// signature. Errors: ErrBadSignature, ErrStaleTimestamp,
	// ErrFutureTimestamp, ErrMalformed (all wrapped with the details).
	ParseCallback(h Headers, body []byte) (Callback, error)
}

// ReplayGuard remembers the callback events taken lately, so that a captured
// callback cannot be replayed while its signature is fresh. It is a first
// line only: the ledger's idempotency key makes credits exactly-once.
type ReplayGuard interface {
	// Seen records (provider, eventID) until the given time and reports
	// whether it was already recorded and not yet past its own time. It is
	// atomic: of concurrent calls with one event, exactly one sees false.
	Seen(ctx context.Context, provider, eventID string, until time.Time) (bool, error)
	// Forget drops a record, for a callback whose effect could not be
	// committed, so that the provider's retry is taken.
	Forget(ctx context.Context, provider, eventID string) error
}

// Orders finds orders in the caller's store. Find returns an error wrapping
// ErrUnknownOrder when there is no such order.
type Orders interface {
	Find(ctx context.Context, id OrderID) (Order, error)
}
