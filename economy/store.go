package economy

import (
	"context"
	"fmt"
	"time"
)

// Store keeps the ledger. economy/sqlstore implements it on SQLite and
// PostgreSQL; economy/ledgertest holds the contract suite every implementation
// passes.
//
// Apply is the only method that writes money, and its contract is the ledger's:
//
//   - The whole batch is applied in ONE database transaction, committed
//     durably before Apply returns. If that transaction fails (a statement, the
//     commit), Apply returns the error and nothing of the batch remains.
//   - Inside it, each transaction is checked and applied in order, against the
//     balances the earlier members left (implementations call [ApplyBatch],
//     which does this). A member that fails its check (invalid, insufficient
//     funds, key reused) gets its error in its Result and leaves no trace; its
//     batch-mates are not affected, and its key stays free.
//   - A member whose key is already committed with the same fingerprint moves
//     nothing and gets the original receipt with Replayed set; with another
//     fingerprint it gets ErrKeyReused. This holds between members of one
//     batch too, and between concurrent batches of several nodes on a shared
//     database: the loser of such a race is retried, not failed.
//   - Several Stores (nodes) may apply batches to the same database at once;
//     accounts are locked for the duration of a batch.
//
// The reads see committed data only.
type Store interface {
	// Apply applies batch at the time at (see above) and returns one Result
	// per member, in order, or an error if the database transaction failed.
	Apply(ctx context.Context, batch []Txn, at time.Time) ([]Result, error)
	// Accounts returns the accounts among ids that exist; the others (never
	// used, so at zero) are missing from the map.
	Accounts(ctx context.Context, ids []AccountID) (map[AccountID]Account, error)
	// Entries returns up to limit entries of account, newest first, all older
	// than before (the newest when before is zero).
	Entries(ctx context.Context, account AccountID, before EntryRef, limit int) ([]Entry, error)
	// Pending returns up to limit outbox events not yet marked published, in
	// commit order.
	Pending(ctx context.Context, limit int) ([]OutboxEvent, error)
	// MarkPublished records that the events of the transactions txns were
	// published at at. Marking one twice (two relays raced) keeps the first
	// time.
	MarkPublished(ctx context.Context, txns []string, at time.Time) error
	// Verify checks the invariants on one consistent snapshot and reports
	// every violation (see Report), including outbox events created before
	// publishedBy and still unpublished.
	Verify(ctx context.Context, publishedBy time.Time) (Report, error)
}

// Result is the outcome of one member of a batch: a receipt, or why it was
// refused.
type Result struct {
	Receipt Receipt
	Err     error
}

// EntryRef is a place in an account's history: the entry with posting number
// Seq of transaction TxnID. The zero EntryRef is the newest end.
type EntryRef struct {
	TxnID string
	Seq   int
}

// Entry is one posting as committed.
type Entry struct {
	TxnID        string
	Seq          int // the posting's place in its transaction, from 0
	Kind         string
	At           time.Time
	Account      AccountID
	Currency     Currency
	Amount       int64
	BalanceAfter int64
	Metadata     map[string]string
}

// Ref is the entry's place, for paging on from it.
func (e Entry) Ref() EntryRef { return EntryRef{TxnID: e.TxnID, Seq: e.Seq} }

// OutboxEvent is an event committed with its transaction.
type OutboxEvent struct {
	TxnID     string // its transaction's id, and the bus's de-duplication id
	Subject   string
	Payload   []byte
	CreatedAt time.Time
}

// Report is what verification found.
type Report struct {
	Accounts, Txns, Entries int64
	Unpublished             int64 // outbox events not yet published, however recent
	Problems                []Problem
}

// OK reports whether every invariant holds.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// ProblemKind names the invariant that a Problem breaks.
type ProblemKind string

const (
	// Unbalanced: a transaction's entries do not sum to zero in a currency.
	Unbalanced ProblemKind = "unbalanced"
	// NoEntries: a transaction has no entries.
	NoEntries ProblemKind = "no-entries"
	// WrongCurrency: an entry's currency is not its account's.
	WrongCurrency ProblemKind = "wrong-currency"
	// BalanceMismatch: an account's balance is not the sum of its entries.
	BalanceMismatch ProblemKind = "balance-mismatch"
	// Negative: an account that may not go negative is.
	Negative ProblemKind = "negative"
	// BadAccount: an account row contradicts its id (unknown name, another
	// currency, or allowed to go negative when its kind may not).
	BadAccount ProblemKind = "bad-account"
	// Orphan: an entry or outbox event whose transaction or account does not
	// exist.
	Orphan ProblemKind = "orphan"
	// Unpublished: an outbox event older than the grace period is not
	// published.
	Unpublished ProblemKind = "unpublished"
)

// Problem is one broken invariant, naming the account or transaction.
type Problem struct {
	Kind    ProblemKind
	Account AccountID // when it concerns an account
	Txn     string    // when it concerns a transaction
	Detail  string
}

func (p Problem) String() string {
	s := string(p.Kind)
	if p.Account != "" {
		s += " account " + string(p.Account)
	}
	if p.Txn != "" {
		s += " txn " + p.Txn
	}
	return fmt.Sprintf("%s: %s", s, p.Detail)
}
