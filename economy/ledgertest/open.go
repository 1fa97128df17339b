// Package ledgertest holds what the ledger's tests share: fresh databases on
// both engines, the contract suite that every economy.Store passes, and a
// simple model of the books to check the ledger against.
package ledgertest

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/onair-live/onair/store"
)

// DefaultPostgres is the server the tests use unless $ONAIR_TEST_POSTGRES names
// another.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Engine opens a fresh, migrated database of one engine for a test.
type Engine struct {
	Name string
	Open func(testing.TB) *store.DB
	DSN  func(testing.TB) string // a fresh, empty database, not opened
}

// Engines are both engines the ledger runs on; the tests run on each.
var Engines = []Engine{
	{Name: "sqlite", Open: func(tb testing.TB) *store.DB { return Open(tb, SQLiteDSN(tb)) }, DSN: SQLiteDSN},
	{Name: "postgres", Open: func(tb testing.TB) *store.DB { return Open(tb, PostgresDSN(tb)) }, DSN: PostgresDSN},
}

// Open opens and migrates dsn; the DB is closed when the test ends.
func Open(tb testing.TB, dsn string) *store.DB {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	if err := db.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return db
}

// SQLiteDSN names a fresh SQLite file in the test's temporary folder.
func SQLiteDSN(tb testing.TB) string {
	return "sqlite://" + filepath.Join(tb.TempDir(), "onair.db")
}

// PostgresDSN makes a fresh schema on the test server, dropped when the test
// ends, and returns a DSN whose search_path is that schema. With no server
// answering, the test fails (it never skips) and says how to start one.
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	base, admin := requirePostgres(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	schema := "t_" + strings.ToLower(ulid.Make().String())
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema %s: %v", schema, err)
	}
	// Registered before the DB's own cleanup, so it runs after the DB closed.
	tb.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

var (
	pgOnce  sync.Once
	pgAdmin *sql.DB // shared by the tests of a binary, never closed
	pgErr   error
)

func requirePostgres(tb testing.TB) (string, *sql.DB) {
	tb.Helper()
	base := os.Getenv("ONAIR_TEST_POSTGRES")
	if base == "" {
		base = DefaultPostgres
	}
	pgOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var db *store.DB
		if db, pgErr = store.Open(ctx, base); pgErr == nil {
			pgAdmin = db.Reader() // on PostgreSQL, the one pool
		}
	})
	if pgErr != nil {
		shown := base
		if u, err := url.Parse(base); err == nil {
			shown = u.Redacted()
		}
		tb.Fatalf("PostgreSQL is not reachable at %s: %v\n\nThe ledger's tests always run against a real PostgreSQL server; they do not skip.\n"+
			"Start one with trust auth on 127.0.0.1:5432 and a database named test (see store/helpers_test.go),\n"+
			"or point ONAIR_TEST_POSTGRES at a server you have.", shown, pgErr)
	}
	return base, pgAdmin
}

// DoomAtCommit makes the COMMIT of any transaction that inserts the
// idempotency key "doomed" fail, on the engine named: a deferred constraint
// that the database checks only then. Every statement before succeeds.
func DoomAtCommit(tb testing.TB, engine string, db *store.DB) {
	tb.Helper()
	stmts := map[string][]string{
		"sqlite": {
			"CREATE TABLE doom_parent (id INTEGER PRIMARY KEY)",
			"CREATE TABLE doom_child (p INTEGER REFERENCES doom_parent (id) DEFERRABLE INITIALLY DEFERRED)",
			"CREATE TRIGGER doom AFTER INSERT ON ledger_txns WHEN NEW.idempotency_key = 'doomed' BEGIN INSERT INTO doom_child VALUES (1); END",
		},
		"postgres": {
			"CREATE FUNCTION doom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'doomed at commit'; END $$",
			"CREATE CONSTRAINT TRIGGER doom AFTER INSERT ON ledger_txns DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.idempotency_key = 'doomed') EXECUTE FUNCTION doom()",
		},
	}[engine]
	if stmts == nil {
		tb.Fatalf("no engine %q", engine)
	}
	ctx := context.Background()
	for _, q := range stmts {
		if err := db.WriteTx(ctx, func(tx *sql.Tx) error { _, err := tx.ExecContext(ctx, q); return err }); err != nil {
			tb.Fatal(err)
		}
	}
}
