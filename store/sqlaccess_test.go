package store

import (
	"database/sql"
	"errors"
	"sync"
	"testing"
)

// The access that economy/sqlstore has to the store's connections keeps the
// store's engine rules.
func TestSQLAccess(t *testing.T) {
	for _, e := range benchEngines {
		t.Run(e.name, func(t *testing.T) {
			db := e.open(t)
			ctx := t.Context()
			if db.Engine() != e.name {
				t.Fatalf("Engine() = %q", db.Engine())
			}
			if got, want := db.Rebind("a = ? AND b = ?"), map[string]string{"sqlite": "a = ? AND b = ?", "postgres": "a = $1 AND b = $2"}[e.name]; got != want {
				t.Fatalf("Rebind = %q, want %q", got, want)
			}
			insert := func(tx *sql.Tx, v int) error {
				_, err := tx.ExecContext(ctx, db.Rebind("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'x', 0)"), v)
				return err
			}
			mustNil(t, db.WriteTx(ctx, func(tx *sql.Tx) error { return insert(tx, 1000) }))
			boom := errors.New("boom")
			if err := db.WriteTx(ctx, func(tx *sql.Tx) error {
				if err := insert(tx, 1001); err != nil {
					return err
				}
				return boom
			}); !errors.Is(err, boom) {
				t.Fatalf("WriteTx: %v, want fn's error", err)
			}
			var n int
			mustNil(t, db.Reader().QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version >= 1000").Scan(&n))
			if n != 1 {
				t.Fatalf("%d rows: the failed transaction left its row, or the committed one is missing", n)
			}
			if e.name == "sqlite" {
				if _, err := db.Reader().ExecContext(ctx, "DELETE FROM schema_migrations"); err == nil {
					t.Fatal("the SQLite reader pool could write")
				}
			}
			dup := db.WriteTx(ctx, func(tx *sql.Tx) error { return insert(tx, 1000) })
			if !db.UniqueViolation(dup) || !db.Retryable(dup) {
				t.Fatalf("duplicate key %v: UniqueViolation %v, Retryable %v", dup, db.UniqueViolation(dup), db.Retryable(dup))
			}
			bad := db.WriteTx(ctx, func(tx *sql.Tx) error { _, err := tx.ExecContext(ctx, "SELEC 1"); return err })
			if bad == nil || db.UniqueViolation(bad) || db.Retryable(bad) || db.Retryable(nil) {
				t.Fatalf("syntax error %v: called a violation or retryable", bad)
			}
		})
	}
}

// Two PostgreSQL transactions that lock two rows in opposite orders deadlock;
// the one the server aborts is retryable.
func TestRetryableDeadlock(t *testing.T) {
	db := openTestPostgres(t)
	ctx := t.Context()
	rawExec(t, db, "CREATE TABLE pair (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
	rawExec(t, db, "INSERT INTO pair VALUES (1, 0), (2, 0)")
	var first sync.WaitGroup // both hold their first row
	first.Add(2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, order := range [][2]int{{1, 2}, {2, 1}} {
		wg.Go(func() {
			errs[i] = db.WriteTx(ctx, func(tx *sql.Tx) error {
				lock := func(id int) error {
					_, err := tx.ExecContext(ctx, "UPDATE pair SET n = n + 1 WHERE id = $1", id)
					return err
				}
				err := lock(order[0])
				first.Done()
				if err != nil {
					return err
				}
				first.Wait()
				return lock(order[1])
			})
		})
	}
	wg.Wait()
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
			if !db.Retryable(err) {
				t.Errorf("deadlock victim %v: not retryable", err)
			}
		}
	}
	if failed != 1 {
		t.Fatalf("errors %v: want exactly one deadlock victim", errs)
	}
}
