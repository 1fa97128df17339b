package store

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestParseDSN(t *testing.T) {
	for _, tc := range []struct{ dsn, kind, target string }{
		{"sqlite:///var/lib/onair/onair.db", "sqlite", "/var/lib/onair/onair.db"},
		{"sqlite://data/onair.db", "sqlite", "data/onair.db"},
		{"data/onair.db", "sqlite", "data/onair.db"},
		{"/tmp/x.db", "sqlite", "/tmp/x.db"},
		{"postgres://u@h:5432/db?sslmode=disable", "postgres", "postgres://u@h:5432/db?sslmode=disable"},
		{"postgresql://h/db", "postgres", "postgresql://h/db"},
	} {
		kind, target, err := parseDSN(tc.dsn)
		if err != nil || kind != tc.kind || target != tc.target {
			t.Errorf("parseDSN(%q) = %q, %q, %v; want %q, %q", tc.dsn, kind, target, err, tc.kind, tc.target)
		}
	}
	for _, dsn := range []string{"", "sqlite://", ":memory:", "file:x.db", "mysql://h/db", "x.db?mode=ro"} {
		if _, _, err := parseDSN(dsn); err == nil {
			t.Errorf("parseDSN(%q) accepted", dsn)
		}
	}
}

func TestRebind(t *testing.T) {
	for _, tc := range []struct{ in, sqlite, pg string }{
		{"SELECT 1", "SELECT 1", "SELECT 1"},
		{"a = ? AND b IN (?, ?)", "a = ? AND b IN (?, ?)", "a = $1 AND b IN ($2, $3)"},
		{"x = '?' AND y = ? AND \"q?\" = ?", "x = '?' AND y = ? AND \"q?\" = ?", "x = '?' AND y = $1 AND \"q?\" = $2"},
		{"x = 'it''s ?' AND y = ?", "x = 'it''s ?' AND y = ?", "x = 'it''s ?' AND y = $1"},
	} {
		if got := sqliteDialect.rebind(tc.in); got != tc.sqlite {
			t.Errorf("sqlite rebind(%q) = %q", tc.in, got)
		}
		if got := postgresDialect.rebind(tc.in); got != tc.pg {
			t.Errorf("postgres rebind(%q) = %q, want %q", tc.in, got, tc.pg)
		}
	}
}

func TestMigrationFiles(t *testing.T) {
	all, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) == 0 {
		t.Fatal("no migrations embedded")
	}
	for _, d := range []*dialect{sqliteDialect, postgresDialect} {
		for _, m := range all {
			body, err := d.expand(m.sql)
			if err != nil {
				t.Fatalf("%s: %04d_%s: %v", d.name, m.version, m.name, err)
			}
			if strings.Contains(body, "{{") {
				t.Fatalf("%s: %04d_%s keeps a token", d.name, m.version, m.name)
			}
		}
	}
	if _, err := sqliteDialect.expand("x {{nope}}"); err == nil {
		t.Fatal("an unknown token was accepted")
	}
}

// TestSQLiteConnections pins the connection settings: WAL, busy_timeout,
// foreign keys and synchronous=FULL everywhere, one writer, read-only readers.
func TestSQLiteConnections(t *testing.T) {
	db := openTestSQLite(t)
	ctx := t.Context()
	check := func(who string, q querier, pragma, want string) {
		t.Helper()
		var got string
		if err := q.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatalf("%s PRAGMA %s: %v", who, pragma, err)
		}
		if !strings.EqualFold(got, want) {
			t.Errorf("%s PRAGMA %s = %s, want %s", who, pragma, got, want)
		}
	}
	for who, q := range map[string]querier{"writer": db.w, "reader": db.r} {
		check(who, q, "journal_mode", "wal")
		check(who, q, "busy_timeout", "5000")
		check(who, q, "foreign_keys", "1")
		check(who, q, "synchronous", "2") // FULL
	}
	check("writer", db.w, "query_only", "0")
	check("reader", db.r, "query_only", "1")
	if got := db.w.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("writer pool allows %d connections, want 1", got)
	}
	if _, err := db.r.ExecContext(ctx, "DELETE FROM users"); err == nil {
		t.Error("a reader connection could write")
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := t.Context()
	if _, err := Open(ctx, "/nonexistent-dir/sub/onair.db"); err == nil {
		t.Error("opened SQLite in a folder that does not exist")
	}
	if _, err := Open(ctx, "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2"); err == nil {
		t.Error("opened PostgreSQL on a closed port")
	}
}

// TestConcurrentMigrate: nodes that start together migrate one at a time, and
// every one of them succeeds.
func TestConcurrentMigrate(t *testing.T) {
	for name, dsn := range map[string]func(testing.TB) string{"sqlite": sqliteDSN, "postgres": postgresDSN} {
		t.Run(name, func(t *testing.T) {
			d := dsn(t)
			const nodes = 4
			dbs := make([]*DB, nodes)
			for i := range dbs {
				dbs[i] = openNoMigrate(t, d)
			}
			var wg sync.WaitGroup
			errs := make([]error, nodes)
			for i, db := range dbs {
				wg.Go(func() { errs[i] = db.Migrate(t.Context()) })
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			if _, err := dbs[0].CreateUser(t.Context(), NewUser{Name: "first"}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The migrations in the tree are numbered 1, 2, 3... without a gap: a gap is a
// file someone forgot to add.
func TestMigrationsHaveNoGaps(t *testing.T) {
	all, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range all {
		if m.version != i+1 {
			t.Fatalf("migration %04d_%s: expected number %d (numbers start at 1 without gaps)", m.version, m.name, i+1)
		}
	}
}
