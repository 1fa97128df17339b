package payment

import "errors"

// Sentinel errors; they are wrapped with the details. Every one of them means
// that nothing is to be credited.
var (
	// ErrBadSignature: the signature is missing, malformed or wrong; check
	// the provider's webhook secret. (HTTP 401)
	ErrBadSignature = errors.New("payment: callback signature is not valid")
	// ErrStaleTimestamp: signed longer ago than the window; a replay, a very
	// late retry or a slow clock. (HTTP 400)
	ErrStaleTimestamp = errors.New("payment: callback timestamp is too old")
	// ErrFutureTimestamp: signed further ahead than the window; a clock is
	// wrong. (HTTP 400)
	ErrFutureTimestamp = errors.New("payment: callback timestamp is in the future")
	// ErrMalformed: the body or a header does not decode. (HTTP 400)
	ErrMalformed = errors.New("payment: malformed callback")
	// ErrReplay: this event was taken already; answering 2xx stops the
	// provider's retries. (HTTP 200 or 409)
	ErrReplay = errors.New("payment: callback event already taken")
	// ErrUnknownOrder: no order with the callback's order id; Orders.Find
	// returns it. (HTTP 404)
	ErrUnknownOrder = errors.New("payment: unknown order")
	// ErrOrderMismatch: the callback names another provider or provider
	// order than the order holds. (HTTP 409)
	ErrOrderMismatch = errors.New("payment: callback does not match the order")
	// ErrAmountMismatch: the callback's amount is not the order's. (HTTP 409)
	ErrAmountMismatch = errors.New("payment: amount does not match the order")
	// ErrCurrencyMismatch: the callback's currency is not the order's. (HTTP 409)
	ErrCurrencyMismatch = errors.New("payment: currency does not match the order")
	// ErrBadTransition: the order's state does not allow the callback's
	// (a refund of an unpaid order, a payment after a failure). (HTTP 409)
	ErrBadTransition = errors.New("payment: order cannot move to that state")
	// ErrBadToken: a dev checkout token that this process did not issue, or
	// that expired. (HTTP 404)
	ErrBadToken = errors.New("payment: unknown or expired checkout token")
	// ErrBadConfig: a configuration that cannot work.
	ErrBadConfig = errors.New("payment: bad config")
)
