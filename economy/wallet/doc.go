// Package wallet is where money enters and leaves the coin economy (issue 5,
// items 3 and 7): recharges (a user buys coins through a payment provider) and
// withdrawals (a streamer's earnings paid out after an admin approves). It
// keeps the requests in a [Store] it declares (the system of record implements
// it) and moves the money in the ledger ([economy.Ledger]); economy/payment
// verifies the providers' callbacks.
//
// # Keeping the store and the ledger in step
//
// An order's or a withdrawal's row and the ledger are two writes that cannot
// share one database transaction (the ledger commits in groups). Every step is
// therefore written as: record the decision in the row, post the ledger
// transaction under a key derived from the row alone, mark the row done. The
// key makes the post exactly-once whoever repeats it; the fingerprint makes a
// repeat identical (postings and metadata come from the row, never from the
// request that triggered it). A crash between two writes leaves a row that
// says what is open, and [Service.Reconcile] (run at start and then
// periodically) posts it again and finishes it:
//
//   - Recharge: a verified callback sets the order's settling state (pending
//     with settling "paid", or paid with settling "refunded"), the credit (or
//     reversal) is posted with [payment.Decision.LedgerKey], and the order moves
//     to its new status. An order reads "paid" only once its coins are in the
//     ledger; a crash after the post leaves it pending-and-settling, which the
//     provider's retry or the reconciler completes (the post then replays).
//   - Withdrawal request: the row is inserted in state holding (the daily limit
//     is checked in that same database transaction), the hold is posted
//     (withdrawal:request:<id>), the row becomes requested. A refused hold
//     (not enough earnings) deletes the row: nothing is left behind.
//   - Approval or rejection: the row moves requested → approved | rejected in
//     one conditional update (of concurrent admins exactly one wins) with its
//     audit entry in the same database transaction; then the ledger
//     transaction (withdrawal:approve:<id> or withdrawal:reject:<id>) is posted
//     and its id recorded. Neither can be refused by the ledger: the hold has
//     the earnings.
//
// # Ledger transactions
//
// Recharge (kind recharge), per economy/account.go: cents CashIn −price,
// Revenue +price (the money came in from outside and the platform keeps it);
// coins Issuance −coins, user +coins (minted). A refund (recharge_refund)
// reverses both, and is refused if the user has spent the coins: the order
// stays paid and an admin settles it.
//
// Withdrawal request (withdrawal_request): earnings user → Holds. Rejection
// (withdrawal_reject): Holds → user. Approval (withdrawal_approve): earnings
// Holds → Issuance, because Issuance is where earnings "return when paid out"
// (they stop circulating); and cents Issuance → Payouts. For the cents we
// considered Revenue → Payouts (paying streamers out of recharge money), and
// chose Issuance: Revenue may never go negative, so an approval would then be
// refused whenever the recharges recorded in the ledger fall short of what
// streamers earned (bonus coins, grants, a withdrawal ratio above the recharge
// ratio), although the platform pays out of its own bank account; and a refund
// must always find the cents of its recharge in Revenue. Issuance's cents,
// which nothing else uses, go negative by what was paid out, mirrored by
// Payouts; the platform's net is Revenue − Payouts.
//
// # Events
//
// Each of these transactions carries an outbox event for its user, on subject
// onair.economy.<kind>.user.<user id>, as an envelope without id
// {"v":1,"type":"recharge"|"withdrawal","user":...,"ts":...,"body":{...}}: a
// recharge's body has the order id, the coins and the balance; a withdrawal's
// its id, status, earnings and cents. The balance is the one read just before
// the credit plus the coins: right unless another movement of the user's coins
// committed in between, so pages take GET /api/wallet as the truth.
package wallet
