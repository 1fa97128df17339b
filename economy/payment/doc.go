// Package payment is the storage-free half of recharging (issue 5, item 3): a
// Provider takes an order to its checkout and turns the provider's callback
// into a verified Callback; an Order moves through its states as pure logic;
// Handle puts the two together with a ReplayGuard and the caller's Orders.
// Nothing here touches money: the caller credits the ledger.
//
// # The flow
//
//  1. The user picks a package; the server stores an Order (StatusPending) and
//     calls Provider.Checkout, stores the ProviderOrderID it returns and sends
//     the user to Checkout.URL.
//  2. The provider calls back. The server hands the raw headers and body to
//     Handle, which has the provider verify the signature and timestamp and
//     decode the body, finds the order (Orders), applies the callback to it
//     (Order.Apply: amount, currency and transition checked), and records the
//     event with the ReplayGuard. Any failure is an error from errors.go,
//     which the HTTP edge maps to a status (a bad signature is 401, a replay
//     needs no retry, and so on); nothing is to be credited then.
//  3. With the Decision, the caller, in one database transaction, moves the
//     order from Decision.Order.Status to Decision.Next.Status (a conditional
//     update) and, for EffectCredit or EffectReverse, moves the coins with
//     Decision.LedgerKey as the idempotency key. If that transaction fails it
//     calls ReplayGuard.Forget, so that the provider's retry is taken.
//
// # Exactly once
//
// The replay guard only stops a captured callback from being replayed within
// its signature's window, and lives in one process's memory. What makes a
// credit happen exactly once is the ledger: its idempotency key is the
// provider's order id (Decision.LedgerKey), under a unique constraint, so a
// second paid callback for the same order, from any node, after any restart,
// credits nothing. A callback repeating the order's current status is not an
// error (providers retry until answered 2xx): it yields EffectNone.
//
// # The onair signature scheme
//
// The dev provider, and any gateway that can sign webhooks this way, sends:
//
//	Onair-Timestamp: 1893585600                    Unix seconds when it was signed
//	Onair-Signature: 5d41402abc4b2a76b9719d911...  hex(HMAC-SHA256(secret, timestamp + "." + body))
//
// and a JSON body (CallbackBody; unknown fields are ignored). The signature is
// compared in constant time, then the timestamp must be within the window
// (default 5 minutes) of the clock, on either side.
//
// # The dev provider
//
// Dev is a provider for trying recharge on one machine: it has no money behind
// it, so anyone who can reach its confirm page can mark their order paid. The
// server must construct it only when a flag asks for it. Its callbacks are
// signed with a per-process secret and go through Handle like any other.
package payment
