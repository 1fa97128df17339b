package store

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
)

// defaultTestPostgres is the server the tests use unless $ONAIR_TEST_POSTGRES
// names another.
const defaultTestPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

const postgresHelp = `PostgreSQL is not reachable at %s: %v

The store's tests always run against a real PostgreSQL server; they do not skip.
Start one with trust auth on 127.0.0.1:5432 and a database named test, e.g. on Debian 12:
    apt-get install -y postgresql
    echo 'host all all 127.0.0.1/32 trust' > /etc/postgresql/15/main/pg_hba.conf
    echo 'local all all trust' >> /etc/postgresql/15/main/pg_hba.conf
    pg_ctlcluster 15 main restart
    psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE test'
or point ONAIR_TEST_POSTGRES at a server you have (postgres://user@host:port/db?sslmode=disable).`

// openTestSQLite opens and migrates a fresh SQLite file in a temporary folder.
func openTestSQLite(tb testing.TB) *DB { return openTest(tb, sqliteDSN(tb)) }

// openTestPostgres opens and migrates a fresh schema of the test server.
func openTestPostgres(tb testing.TB) *DB { return openTest(tb, postgresDSN(tb)) }

// openTest opens dsn, closed when the test ends, and migrates it.
func openTest(tb testing.TB, dsn string) *DB {
	tb.Helper()
	db := openNoMigrate(tb, dsn)
	if err := db.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return db
}

func openNoMigrate(tb testing.TB, dsn string) *DB {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := Open(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	return db
}

// sqliteDSN names a fresh SQLite file in a temporary folder.
func sqliteDSN(tb testing.TB) string {
	return "sqlite://" + filepath.Join(tb.TempDir(), "onair.db")
}

// postgresDSN makes a fresh schema on the test server, dropped when the test
// ends, and returns a DSN whose search_path is that schema. It fails the test,
// with how to start a server, when none answers.
func postgresDSN(tb testing.TB) string {
	tb.Helper()
	base, admin := requirePostgres(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	schema := "t_" + strings.ToLower(ulid.Make().String())
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema %s: %v", schema, err)
	}
	// Registered first, so it runs after the DBs on this schema are closed.
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
	pgAdmin *sql.DB // shared by every test of the package, never closed
	pgErr   error
)

// requirePostgres returns the test server's DSN and a connection to it,
// reaching for it once per test binary; when it does not answer, the test fails
// with how to start one.
func requirePostgres(tb testing.TB) (string, *sql.DB) {
	tb.Helper()
	base := os.Getenv("ONAIR_TEST_POSTGRES")
	if base == "" {
		base = defaultTestPostgres
	}
	pgOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var db *DB
		if db, pgErr = Open(ctx, base); pgErr == nil {
			pgAdmin = db.w
		}
	})
	if pgErr != nil {
		shown := base
		if u, err := url.Parse(base); err == nil {
			shown = u.Redacted()
		}
		tb.Fatalf(postgresHelp, shown, pgErr)
	}
	return base, pgAdmin
}

// clock is an injected clock that tests move by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func setClock(db *DB, t time.Time) *clock {
	c := &clock{t: t}
	db.now = c.now
	return c
}
