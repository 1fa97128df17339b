// Package sqlstore keeps the ledger (economy.Store) in onair's system of record,
// on SQLite or PostgreSQL through one *store.DB: the tables of migration
// 0006_ledger, one SQL text for both engines except FOR UPDATE.
//
// A batch is a handful of statements whatever its size: one SELECT of the
// accounts involved (FOR UPDATE on PostgreSQL; on SQLite the writer transaction
// is BEGIN IMMEDIATE, so no other writer runs), one SELECT of the idempotency
// keys, then multi-row INSERTs of transactions, entries and outbox events and
// one UPDATE ... FROM (VALUES ...) of the balances. Accounts named for the
// first time cost one INSERT and one SELECT more; a replayed member, one
// SELECT of its entries.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/onair-live/onair/economy"
	"github.com/onair-live/onair/store"
)

// Store is the ledger on a *store.DB. It is safe for concurrent use, and
// several Stores (nodes) may share one PostgreSQL database.
type Store struct {
	db *store.DB
	// lock follows the SELECT of the accounts of a batch. PostgreSQL locks
	// them, in id order so that concurrent batches cannot deadlock; SQLite's
	// single writer needs nothing.
	lock string
}

var _ economy.Store = (*Store)(nil)

// New keeps the ledger in db, which must be migrated.
func New(db *store.DB) *Store {
	s := &Store{db: db}
	if db.Engine() == "postgres" {
		s.lock = " FOR UPDATE"
	}
	return s
}

// maxParams keeps each statement under both engines' limits on bound
// parameters (SQLite 32766, PostgreSQL 65535).
const maxParams = 30000

// attempts is how often a batch that lost a race with another node's (the
// same new key, a deadlock) runs; the next run sees the winner's result.
const attempts = 4

// Apply implements economy.Store.
func (s *Store) Apply(ctx context.Context, batch []economy.Txn, at time.Time) ([]economy.Result, error) {
	for i := 1; ; i++ {
		var results []economy.Result
		err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
			var err error
			results, err = economy.ApplyBatch(ctx, &batchTx{s: s, tx: tx, at: at}, batch, at)
			return err
		})
		if err == nil {
			return results, nil
		}
		if i < attempts && s.db.Retryable(err) && ctx.Err() == nil {
			continue
		}
		return nil, fmt.Errorf("sqlstore: apply %d transactions: %w", len(batch), err)
	}
}

// batchTx is economy.BatchTx on one write transaction.
type batchTx struct {
	s  *Store
	tx *sql.Tx
	at time.Time // the batch's time, for the accounts it creates
}

func (b *batchTx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return b.tx.QueryContext(ctx, b.s.db.Rebind(q), args...)
}

func (b *batchTx) exec(ctx context.Context, q string, args ...any) error {
	_, err := b.tx.ExecContext(ctx, b.s.db.Rebind(q), args...)
	return err
}

func (b *batchTx) Committed(ctx context.Context, keys []string) (map[string]economy.Prior, error) {
	found := map[string]economy.Prior{}
	err := chunks(len(keys), 1, func(lo, hi int) error {
		rows, err := b.query(ctx, "SELECT idempotency_key, id, kind, fingerprint, created_at FROM ledger_txns WHERE idempotency_key IN ("+marks(hi-lo)+")",
			anys(keys[lo:hi])...)
		if err != nil {
			return err
		}
		return scanAll(rows, func() error {
			var p economy.Prior
			var fp []byte
			var at int64
			if err := rows.Scan(&p.Receipt.Key, &p.Receipt.TxnID, &p.Receipt.Kind, &fp, &at); err != nil {
				return err
			}
			copy(p.Fingerprint[:], fp)
			p.Receipt.At = fromMS(at)
			found[p.Receipt.Key] = p
			return nil
		})
	})
	return found, err
}

func (b *batchTx) BalancesAfter(ctx context.Context, replays map[string][]economy.AccountID) (map[string]map[economy.AccountID]int64, error) {
	out := make(map[string]map[economy.AccountID]int64, len(replays))
	// The primary key leads with the account, so each (account, txn) pair is
	// an index seek. The last entry of an account in a transaction holds its
	// balance after it.
	var args []any
	var where []string
	flush := func() error {
		if len(where) == 0 {
			return nil
		}
		rows, err := b.query(ctx, "SELECT txn_id, account_id, balance_after FROM ledger_entries WHERE "+strings.Join(where, " OR ")+
			" ORDER BY txn_id, seq", args...)
		args, where = args[:0], where[:0]
		if err != nil {
			return err
		}
		return scanAll(rows, func() error {
			var id string
			var acct economy.AccountID
			var after int64
			if err := rows.Scan(&id, &acct, &after); err != nil {
				return err
			}
			if out[id] == nil {
				out[id] = map[economy.AccountID]int64{}
			}
			out[id][acct] = after
			return nil
		})
	}
	for id, accounts := range replays {
		if len(args)+1+len(accounts) > maxParams {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		where = append(where, "(txn_id = ? AND account_id IN ("+marks(len(accounts))+"))")
		args = append(append(args, id), anys(accounts)...)
	}
	return out, flush()
}

func (b *batchTx) LockAccounts(ctx context.Context, infos []economy.AccountInfo) (map[economy.AccountID]economy.AccountState, error) {
	ids := make([]economy.AccountID, len(infos))
	for i, a := range infos {
		ids[i] = a.ID
	}
	got, err := b.selectAccounts(ctx, ids)
	if err != nil || len(got) == len(infos) {
		return got, err
	}
	// First use of some accounts: create them at zero, then lock them too.
	// DO NOTHING: another node may be creating the same one right now.
	var missing []economy.AccountInfo
	for _, a := range infos {
		if _, ok := got[a.ID]; !ok {
			missing = append(missing, a)
		}
	}
	at := ms(b.at)
	err = chunks(len(missing), 7, func(lo, hi int) error {
		args := make([]any, 0, 7*(hi-lo))
		for _, a := range missing[lo:hi] {
			args = append(args, a.ID, a.Owner, a.Kind, a.Currency, 0, a.AllowNegative, at)
		}
		return b.exec(ctx, "INSERT INTO ledger_accounts (id, owner, kind, currency, balance, allow_negative, created_at) VALUES "+
			rowsOf(hi-lo, "(?, ?, ?, ?, ?, ?, ?)")+" ON CONFLICT (id) DO NOTHING", args...)
	})
	if err != nil {
		return nil, err
	}
	ids = ids[:0]
	for _, a := range missing {
		ids = append(ids, a.ID)
	}
	more, err := b.selectAccounts(ctx, ids)
	if err != nil {
		return nil, err
	}
	for id, st := range more {
		got[id] = st
	}
	if len(got) != len(infos) {
		return nil, fmt.Errorf("%d of %d accounts missing after creating them", len(infos)-len(got), len(infos))
	}
	return got, nil
}

// selectAccounts reads (and on PostgreSQL locks) the accounts of ids, which
// are sorted.
func (b *batchTx) selectAccounts(ctx context.Context, ids []economy.AccountID) (map[economy.AccountID]economy.AccountState, error) {
	got := make(map[economy.AccountID]economy.AccountState, len(ids))
	err := chunks(len(ids), 1, func(lo, hi int) error {
		rows, err := b.query(ctx, "SELECT id, currency, balance, allow_negative FROM ledger_accounts WHERE id IN ("+marks(hi-lo)+") ORDER BY id"+b.s.lock,
			anys(ids[lo:hi])...)
		if err != nil {
			return err
		}
		return scanAll(rows, func() error {
			var id economy.AccountID
			var st economy.AccountState
			if err := rows.Scan(&id, &st.Currency, &st.Balance, &st.AllowNegative); err != nil {
				return err
			}
			got[id] = st
			return nil
		})
	})
	return got, err
}

func (b *batchTx) Write(ctx context.Context, p *economy.Plan) error {
	at := ms(p.At)
	err := chunks(len(p.Txns), 6, func(lo, hi int) error {
		args := make([]any, 0, 6*(hi-lo))
		for _, t := range p.Txns[lo:hi] {
			args = append(args, t.ID, t.Key, t.Kind, t.Fingerprint[:], at, t.Metadata)
		}
		return b.exec(ctx, "INSERT INTO ledger_txns (id, idempotency_key, kind, fingerprint, created_at, metadata) VALUES "+
			rowsOf(hi-lo, "(?, ?, ?, ?, ?, ?)"), args...)
	})
	if err != nil {
		return fmt.Errorf("transactions: %w", err)
	}
	var entries []economy.Entry
	var events []*economy.PlannedTxn
	for i := range p.Txns {
		entries = append(entries, p.Txns[i].Entries...)
		if p.Txns[i].Event != nil {
			events = append(events, &p.Txns[i])
		}
	}
	err = chunks(len(entries), 6, func(lo, hi int) error {
		args := make([]any, 0, 6*(hi-lo))
		for _, e := range entries[lo:hi] {
			args = append(args, e.TxnID, e.Seq, e.Account, e.Currency, e.Amount, e.BalanceAfter)
		}
		return b.exec(ctx, "INSERT INTO ledger_entries (txn_id, seq, account_id, currency, amount, balance_after) VALUES "+
			rowsOf(hi-lo, "(?, ?, ?, ?, ?, ?)"), args...)
	})
	if err != nil {
		return fmt.Errorf("entries: %w", err)
	}
	err = chunks(len(events), 4, func(lo, hi int) error {
		args := make([]any, 0, 4*(hi-lo))
		for _, t := range events[lo:hi] {
			payload := t.Event.Payload
			if payload == nil {
				payload = []byte{} // NOT NULL; pgx sends a nil slice as NULL
			}
			args = append(args, t.ID, t.Event.Subject, payload, at)
		}
		return b.exec(ctx, "INSERT INTO ledger_outbox (txn_id, subject, payload, created_at) VALUES "+
			rowsOf(hi-lo, "(?, ?, ?, ?)"), args...)
	})
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	// The balances move by their net change, so the CHECK constraint judges
	// the stored value whatever Go computed. The VALUES columns are column1 and
	// column2 on both engines (SQLite has no column aliases for a subquery);
	// the CAST tells PostgreSQL the parameter's type.
	err = chunks(len(p.Changes), 2, func(lo, hi int) error {
		args := make([]any, 0, 2*(hi-lo))
		for _, c := range p.Changes[lo:hi] {
			args = append(args, c.Account, c.Delta)
		}
		return b.exec(ctx, "UPDATE ledger_accounts SET balance = ledger_accounts.balance + v.column2 FROM (VALUES "+
			rowsOf(hi-lo, "(?, CAST(? AS BIGINT))")+") AS v WHERE ledger_accounts.id = v.column1", args...)
	})
	if err != nil {
		return fmt.Errorf("balances: %w", err)
	}
	return nil
}

// Accounts implements economy.Store.
func (s *Store) Accounts(ctx context.Context, ids []economy.AccountID) (map[economy.AccountID]economy.Account, error) {
	got := make(map[economy.AccountID]economy.Account, len(ids))
	err := chunks(len(ids), 1, func(lo, hi int) error {
		rows, err := s.db.Reader().QueryContext(ctx, s.db.Rebind(
			"SELECT id, owner, kind, currency, balance, allow_negative, created_at FROM ledger_accounts WHERE id IN ("+marks(hi-lo)+")"),
			anys(ids[lo:hi])...)
		if err != nil {
			return err
		}
		return scanAll(rows, func() error {
			var a economy.Account
			var at int64
			if err := rows.Scan(&a.ID, &a.Owner, &a.Kind, &a.Currency, &a.Balance, &a.AllowNegative, &at); err != nil {
				return err
			}
			a.CreatedAt = fromMS(at)
			got[a.ID] = a
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: accounts: %w", err)
	}
	return got, nil
}

// Entries implements economy.Store.
func (s *Store) Entries(ctx context.Context, account economy.AccountID, before economy.EntryRef, limit int) ([]economy.Entry, error) {
	q := `SELECT e.txn_id, e.seq, t.kind, t.created_at, e.currency, e.amount, e.balance_after, t.metadata
		FROM ledger_entries e JOIN ledger_txns t ON t.id = e.txn_id
		WHERE e.account_id = ?`
	args := []any{account}
	if before.TxnID != "" {
		// A row value: both engines seek the primary key to it, so a deep
		// page costs what the first one does.
		q += " AND (e.txn_id, e.seq) < (?, ?)"
		args = append(args, before.TxnID, before.Seq)
	}
	q += " ORDER BY e.txn_id DESC, e.seq DESC LIMIT ?"
	args = append(args, limit)
	rows, err := s.db.Reader().QueryContext(ctx, s.db.Rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: entries of %s: %w", account, err)
	}
	var out []economy.Entry
	err = scanAll(rows, func() error {
		e := economy.Entry{Account: account}
		var at int64
		var meta string
		if err := rows.Scan(&e.TxnID, &e.Seq, &e.Kind, &at, &e.Currency, &e.Amount, &e.BalanceAfter, &meta); err != nil {
			return err
		}
		e.At = fromMS(at)
		if meta != "{}" {
			if err := json.Unmarshal([]byte(meta), &e.Metadata); err != nil {
				return fmt.Errorf("metadata of %s: %w", e.TxnID, err)
			}
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: entries of %s: %w", account, err)
	}
	return out, nil
}

// Pending implements economy.Store.
func (s *Store) Pending(ctx context.Context, limit int) ([]economy.OutboxEvent, error) {
	rows, err := s.db.Reader().QueryContext(ctx, s.db.Rebind(
		"SELECT txn_id, subject, payload, created_at FROM ledger_outbox WHERE published_at IS NULL ORDER BY txn_id LIMIT ?"), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: outbox: %w", err)
	}
	var out []economy.OutboxEvent
	err = scanAll(rows, func() error {
		var e economy.OutboxEvent
		var at int64
		if err := rows.Scan(&e.TxnID, &e.Subject, &e.Payload, &at); err != nil {
			return err
		}
		e.CreatedAt = fromMS(at)
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: outbox: %w", err)
	}
	return out, nil
}

// MarkPublished implements economy.Store.
func (s *Store) MarkPublished(ctx context.Context, txns []string, at time.Time) error {
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		return chunks(len(txns), 1, func(lo, hi int) error {
			args := append([]any{ms(at)}, anys(txns[lo:hi])...)
			_, err := tx.ExecContext(ctx, s.db.Rebind("UPDATE ledger_outbox SET published_at = ? WHERE published_at IS NULL AND txn_id IN ("+marks(hi-lo)+")"), args...)
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("sqlstore: mark published: %w", err)
	}
	return nil
}

// chunks calls fn for consecutive ranges of n rows of width parameters each,
// as large as maxParams allows.
func chunks(n, width int, fn func(lo, hi int) error) error {
	per := maxParams / width
	for lo := 0; lo < n; lo += per {
		if err := fn(lo, min(lo+per, n)); err != nil {
			return err
		}
	}
	return nil
}

// marks is n comma-separated placeholders.
func marks(n int) string { return rowsOf(n, "?") }

// rowsOf is n copies of row, comma-separated.
func rowsOf(n int, row string) string {
	var b strings.Builder
	b.Grow(n * (len(row) + 2))
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}

func anys[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// scanAll calls scan for each row and closes rows.
func scanAll(rows *sql.Rows, scan func() error) error {
	defer rows.Close()
	for rows.Next() {
		if err := scan(); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Times are stored as in the rest of the store: Unix milliseconds, UTC.
func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }
