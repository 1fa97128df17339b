package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/onair-live/onair/economy"
)

// maxPerCheck bounds the problems one check reports: a broken ledger is
// reported, not copied out.
const maxPerCheck = 1000

// Verify implements economy.Store. Every check is one set-based query, all in
// one read-only transaction so that they judge the same snapshot while the
// ledger keeps committing (REPEATABLE READ on PostgreSQL; on SQLite a read
// transaction sees one WAL snapshot).
func (s *Store) Verify(ctx context.Context, publishedBy time.Time) (economy.Report, error) {
	var r economy.Report
	tx, err := s.db.Reader().BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return r, fmt.Errorf("sqlstore: verify: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	v := verifier{ctx: ctx, tx: tx, s: s, r: &r}
	v.count("SELECT COUNT(*) FROM ledger_accounts", &r.Accounts)
	v.count("SELECT COUNT(*) FROM ledger_txns", &r.Txns)
	v.count("SELECT COUNT(*) FROM ledger_entries", &r.Entries)
	v.count("SELECT COUNT(*) FROM ledger_outbox WHERE published_at IS NULL", &r.Unpublished)

	// Double entry: every transaction's entries sum to zero per currency.
	v.check(`SELECT txn_id, currency, CAST(SUM(amount) AS BIGINT) FROM ledger_entries
		GROUP BY txn_id, currency HAVING SUM(amount) <> 0 ORDER BY txn_id`, nil,
		func(rows *sql.Rows) (economy.Problem, error) {
			var p economy.Problem
			var cur string
			var sum int64
			err := rows.Scan(&p.Txn, &cur, &sum)
			p.Kind, p.Detail = economy.Unbalanced, fmt.Sprintf("entries in %s sum to %d, not zero", cur, sum)
			return p, err
		})
	// EXCEPT, not NOT EXISTS: no index leads with an entry's txn_id, and both
	// engines merge two sorted scans in O(n log n).
	v.check(`SELECT id FROM ledger_txns EXCEPT SELECT txn_id FROM ledger_entries ORDER BY 1`, nil,
		func(rows *sql.Rows) (economy.Problem, error) {
			p := economy.Problem{Kind: economy.NoEntries, Detail: "a transaction without entries"}
			return p, rows.Scan(&p.Txn)
		})
	// References (there are no foreign keys; see the migration): every entry's
	// account exists and is in its currency, every entry and event has its
	// transaction.
	v.check(`SELECT e.txn_id, e.account_id, e.currency, a.currency FROM ledger_entries e
		LEFT JOIN ledger_accounts a ON a.id = e.account_id WHERE a.id IS NULL OR e.currency <> a.currency ORDER BY e.txn_id`, nil,
		func(rows *sql.Rows) (economy.Problem, error) {
			var p economy.Problem
			var ec string
			var ac sql.NullString
			err := rows.Scan(&p.Txn, &p.Account, &ec, &ac)
			if !ac.Valid {
				p.Kind, p.Detail = economy.Orphan, "an entry on an account that does not exist"
			} else {
				p.Kind, p.Detail = economy.WrongCurrency, fmt.Sprintf("an entry in %s on an account in %s", ec, ac.String)
			}
			return p, err
		})
	v.check(`SELECT txn_id FROM ledger_entries EXCEPT SELECT id FROM ledger_txns ORDER BY 1`, nil,
		func(rows *sql.Rows) (economy.Problem, error) {
			p := economy.Problem{Kind: economy.Orphan, Detail: "entries of a transaction that does not exist"}
			return p, rows.Scan(&p.Txn)
		})
	v.check(`SELECT o.txn_id FROM ledger_outbox o WHERE NOT EXISTS (SELECT 1 FROM ledger_txns t WHERE t.id = o.txn_id) ORDER BY o.txn_id`, nil,
		func(rows *sql.Rows) (economy.Problem, error) {
			p := economy.Problem{Kind: economy.Orphan, Detail: "an outbox event of a transaction that does not exist"}
			return p, rows.Scan(&p.Txn)
		})
	// Every balance is the sum of its account's entries.
	v.check(`SELECT a.id, a.balance, COALESCE(s.total, 0) FROM ledger_accounts a
		LEFT JOIN (SELECT account_id, CAST(SUM(amount) AS BIGINT) AS total FROM ledger_entries GROUP BY account_id) s ON s.account_id = a.id
		WHERE a.balance <> COALESCE(s.total, 0) ORDER BY a.id`, nil,
		func(rows *sql.Rows) (economy.Problem, error) {
			var p economy.Problem
			var bal, sum int64
			err := rows.Scan(&p.Account, &bal, &sum)
			p.Kind, p.Detail = economy.BalanceMismatch, fmt.Sprintf("balance %d, entries sum to %d", bal, sum)
			return p, err
		})
	// An account row agrees with its id: the currency, and whether it may go
	// negative. Only the rows that are, or may go, negative are read: the
	// others are sound whatever their kind.
	v.check(`SELECT id, currency, balance, allow_negative FROM ledger_accounts
		WHERE balance < 0 OR allow_negative OR id NOT LIKE '%:' || currency ORDER BY id`, nil,
		func(rows *sql.Rows) (economy.Problem, error) {
			var p economy.Problem
			var cur string
			var bal int64
			var allow bool
			if err := rows.Scan(&p.Account, &cur, &bal, &allow); err != nil {
				return p, err
			}
			info, err := economy.ParseAccount(p.Account)
			switch {
			case err != nil:
				p.Kind, p.Detail = economy.BadAccount, err.Error()
			case string(info.Currency) != cur:
				p.Kind, p.Detail = economy.BadAccount, fmt.Sprintf("stored in %s, named in %s", cur, info.Currency)
			case bal < 0 && !info.AllowNegative:
				p.Kind, p.Detail = economy.Negative, fmt.Sprintf("balance %d, and a %s account may not go negative", bal, info.Kind)
			case allow && !info.AllowNegative:
				p.Kind, p.Detail = economy.BadAccount, fmt.Sprintf("allowed to go negative, but a %s account may not", info.Kind)
			}
			return p, nil // Kind "" when the row is sound
		})
	// Every event older than the grace period is published.
	v.check(`SELECT txn_id, subject, created_at FROM ledger_outbox WHERE published_at IS NULL AND created_at < ? ORDER BY txn_id`,
		[]any{ms(publishedBy)},
		func(rows *sql.Rows) (economy.Problem, error) {
			var p economy.Problem
			var subject string
			var at int64
			err := rows.Scan(&p.Txn, &subject, &at)
			p.Kind, p.Detail = economy.Unpublished, fmt.Sprintf("its event on %s, committed at %s, is not published", subject, fromMS(at).Format(time.RFC3339))
			return p, err
		})
	if v.err != nil {
		return economy.Report{}, fmt.Errorf("sqlstore: verify: %w", v.err)
	}
	return r, nil
}

// verifier runs the checks of Verify, stopping at the first error.
type verifier struct {
	ctx context.Context
	tx  *sql.Tx
	s   *Store
	r   *economy.Report
	err error
}

func (v *verifier) count(q string, n *int64) {
	if v.err == nil {
		v.err = v.tx.QueryRowContext(v.ctx, q).Scan(n)
	}
}

// check runs q and adds the problem that scan makes of each row (none when
// its Kind is empty), up to maxPerCheck, then one saying how many more.
func (v *verifier) check(q string, args []any, scan func(*sql.Rows) (economy.Problem, error)) {
	if v.err != nil {
		return
	}
	rows, err := v.tx.QueryContext(v.ctx, v.s.db.Rebind(q), args...)
	if err != nil {
		v.err = err
		return
	}
	n, more := 0, 0
	v.err = scanAll(rows, func() error {
		p, err := scan(rows)
		if err != nil || p.Kind == "" {
			return err
		}
		if n++; n > maxPerCheck {
			more++
			return nil
		}
		v.r.Problems = append(v.r.Problems, p)
		return nil
	})
	if more > 0 {
		v.r.Problems = append(v.r.Problems, economy.Problem{Kind: v.r.Problems[len(v.r.Problems)-1].Kind, Detail: fmt.Sprintf("and %d more like it", more)})
	}
}
