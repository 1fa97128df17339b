package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// This file lets a package that owns its own tables (economy/sqlstore: the
// ledger) run its SQL on the store's connections, with the same engine rules as
// the store itself: one writer transaction at a time on SQLite, ? placeholders
// rebound for PostgreSQL. Its tables still come from the store's migrations, so
// one Migrate call brings the whole schema up to date.

// Engine names the database engine: "sqlite" or "postgres".
func (db *DB) Engine() string { return db.d.name }

// Rebind turns the ? placeholders of q into the engine's ($1, $2, ... on
// PostgreSQL). A ? inside a quoted string or identifier is left alone.
func (db *DB) Rebind(q string) string { return db.d.rebind(q) }

// Reader is the pool for reads outside a write transaction. On SQLite its
// connections are read-only and see every committed write (WAL); on PostgreSQL
// it is the writer pool.
func (db *DB) Reader() *sql.DB { return db.r }

// WriteTx runs fn in one write transaction and commits it if fn returns nil; if
// fn or the commit fails, nothing fn wrote remains. On SQLite the transaction
// holds the single writer connection from BEGIN IMMEDIATE, so fn sees no
// concurrent writer and must not block on anything but tx; on PostgreSQL it is
// a READ COMMITTED transaction of the pool (lock rows with SELECT ... FOR UPDATE).
func (db *DB) WriteTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return db.inTx(ctx, fn)
}

// UniqueViolation reports whether err is a unique or primary key violation,
// on either engine.
func (db *DB) UniqueViolation(err error) bool {
	return err != nil && db.d.violation(err) == uniqueViolation
}

// Retryable reports whether a write transaction that failed with err lost a
// race with a concurrent one, so that running it again from the start can
// succeed: a unique key that the other inserted first, a deadlock or a
// serialization failure (PostgreSQL), a database locked by another process
// past busy_timeout (SQLite). Nothing of a failed transaction was committed.
func (db *DB) Retryable(err error) bool {
	if db.UniqueViolation(err) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01" // serialization_failure, deadlock_detected
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()&0xff == sqlite3.SQLITE_BUSY // extended codes carry the primary one in the low byte
	}
	return false
}
