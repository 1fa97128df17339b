// Package economy is onair's money plane: the double-entry ledger that every
// coin movement goes through (recharges, gifts, red packets, withdrawals), its
// group committer, and the relay that publishes the events of committed
// transactions. It knows nothing of HTTP, echo, the SFU or rooms; it reaches its
// storage through the [Store] interface (economy/sqlstore implements it on
// SQLite and PostgreSQL) and the bus through [Publisher].
//
// # Invariants
//
// These hold for every committed state of the store; [Ledger.Verify] (and the
// `onair ledger verify` command) proves them on the live data:
//
//  1. Amounts are int64 counts of a currency's unit ([Coins], [Earnings],
//     [Cents]); there are no fractions and no floats anywhere.
//  2. Every transaction is double-entry: its postings sum to zero in each
//     currency, and a posting's currency is its account's.
//  3. An account's balance equals the sum of its entries.
//  4. Balances never go negative, except on the accounts that stand for the
//     outside world ([Issuance], [CashIn]): the ledger refuses a transaction
//     that would overdraw, inside the same database transaction that applies
//     it, and the database refuses a negative balance by a CHECK constraint.
//  5. Every transaction carries an idempotency key under a unique constraint. A
//     retry with the same key and the same parameters returns the original
//     receipt and moves nothing; the same key with other parameters is refused
//     with [ErrKeyReused].
//  6. A transaction's outbox event is committed with it, or not at all, and is
//     published after the commit, at least once to the bus and exactly once as
//     consumers see it (the bus drops a message id it has seen). Nothing that
//     listens to the bus ever sees money that did not move.
//
// # Group commit
//
// [Ledger.Post] queues the transaction; one committer goroutine takes whatever
// is waiting (up to [Config.MaxBatch]) and applies it as one batch in one
// database transaction: one fsync for the batch instead of one per transfer.
// Inside the batch each transaction is checked and applied in order against the
// balances as the earlier ones left them, so two transfers from one account in
// one batch cannot overdraw it; a refused transaction (insufficient funds, key
// reused) is left out without failing its batch-mates. If the database
// transaction fails, every member gets the error and nothing is written.
//
// # Accounts
//
// Account ids carry their owner and currency: user:<user id>:coins and
// user:<user id>:earnings for users, platform:<kind>:<currency> for the
// platform (see [AccountKind]). An account comes into existence, at zero, the
// first time a transaction names it.
package economy
