package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// DB is the system of record on SQLite or PostgreSQL. It is safe for
// concurrent use. Call [DB.Migrate] once before the other methods.
type DB struct {
	w *sql.DB // writes and transactions; on SQLite a single connection
	r *sql.DB // reads; on PostgreSQL the same pool as w
	d *dialect

	now func() time.Time // the clock for times the caller does not pass in
}

// Open connects to the database that dsn names (see the package doc for the
// forms) and checks that it answers. It does not migrate.
func Open(ctx context.Context, dsn string) (*DB, error) {
	kind, target, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if kind == "postgres" {
		return openPostgres(ctx, target)
	}
	return openSQLite(ctx, target)
}

// parseDSN tells the engine and what to hand its driver.
func parseDSN(dsn string) (kind, target string, err error) {
	switch {
	case dsn == "":
		return "", "", fmt.Errorf("store: empty database DSN: give a file path, sqlite:///path/onair.db or postgres://...")
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return "postgres", dsn, nil
	case strings.HasPrefix(dsn, "sqlite://"):
		target = strings.TrimPrefix(dsn, "sqlite://")
	case strings.Contains(dsn, "://"):
		return "", "", fmt.Errorf("store: unsupported database DSN scheme in %q: use a file path, sqlite:///path/onair.db or postgres://...", dsn[:strings.Index(dsn, "://")+3])
	default:
		target = dsn
	}
	switch {
	case target == "":
		return "", "", fmt.Errorf("store: %q names no SQLite file", dsn)
	case target == ":memory:" || strings.HasPrefix(target, "file:"):
		return "", "", fmt.Errorf("store: %q: SQLite must be a plain file path (reads and writes use separate connections)", dsn)
	case strings.ContainsAny(target, "?#"):
		return "", "", fmt.Errorf("store: SQLite path %q may not contain ? or #", target)
	}
	return "sqlite", target, nil
}

// sqlitePragmas apply to every SQLite connection.
const sqlitePragmas = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)"

func openSQLite(ctx context.Context, path string) (*DB, error) {
	// The writer: one connection, so writes queue in database/sql rather than
	// racing for SQLite's lock; BEGIN IMMEDIATE so a transaction that reads
	// before it writes cannot fail to upgrade its lock.
	w, err := sql.Open("sqlite", path+"?"+sqlitePragmas+"&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite %q: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open sqlite %q: %w", path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		w.Close()
		return nil, fmt.Errorf("store: open sqlite %q: journal mode is %q, not WAL (is it on a file system without shared memory?)", path, mode)
	}

	// The readers: WAL lets them run while the writer writes. The writer made
	// the file WAL already (that is persistent), so they only set the rest.
	r, err := sql.Open("sqlite", path+"?"+sqlitePragmas+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open sqlite %q: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("store: open sqlite %q: %w", path, err)
	}
	return &DB{w: w, r: r, d: sqliteDialect, now: time.Now}, nil
}

func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: postgres DSN: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to postgres %s:%d/%s: %w", cfg.Host, cfg.Port, cfg.Database, err)
	}
	return &DB{w: db, r: db, d: postgresDialect, now: time.Now}, nil
}

// Close closes every connection. Calls in flight fail.
func (db *DB) Close() error {
	if db.r == db.w {
		return db.w.Close()
	}
	return errors.Join(db.r.Close(), db.w.Close())
}

// Ping checks that the database answers, for readiness probes.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.w.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	if db.r != db.w {
		if err := db.r.PingContext(ctx); err != nil {
			return fmt.Errorf("store: ping readers: %w", err)
		}
	}
	return nil
}

// querier is a pool or a transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (db *DB) exec(ctx context.Context, q querier, query string, args ...any) (sql.Result, error) {
	return q.ExecContext(ctx, db.d.rebind(query), args...)
}

func (db *DB) query(ctx context.Context, q querier, query string, args ...any) (*sql.Rows, error) {
	return q.QueryContext(ctx, db.d.rebind(query), args...)
}

func (db *DB) queryRow(ctx context.Context, q querier, query string, args ...any) *sql.Row {
	return q.QueryRowContext(ctx, db.d.rebind(query), args...)
}

// inTx runs fn in one transaction on the writer and commits if fn returns nil.
// fn must use tx only: on SQLite the writer has a single connection.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // after Commit: a no-op returning ErrTxDone
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// affected returns ErrNotFound when a change matched no row.
func affected(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// ms is how times are stored: Unix milliseconds, UTC.
func ms(t time.Time) int64 { return t.UnixMilli() }

// fromMS is the time a stored value stands for, in UTC.
func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// nowMS is the clock's time at the precision it will be stored with.
func (db *DB) nowMS() time.Time { return fromMS(ms(db.now())) }
