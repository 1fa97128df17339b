package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Migrations are embedded SQL files named NNNN_name.sql, numbered from 1
// without gaps (a test checks; Migrate itself only needs them unique), each written once for both engines with {{token}}s for the
// column types that differ (see dialect.types). A released file never changes;
// a change to the schema is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations reads the embedded files in version order.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, p := range names {
		base := strings.TrimSuffix(path.Base(p), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || name == "" {
			return nil, fmt.Errorf("migration file %q is not named NNNN_name.sql", p)
		}
		b, err := migrationFiles.ReadFile(p)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %04d_%s and %04d_%s have the same number", ms[i].version, ms[i].name, ms[i-1].version, ms[i-1].name)
		}
	}
	return ms, nil
}

// Migrate brings the schema up to date: it applies, in order and in one
// transaction, the embedded migrations that the database has not recorded in
// schema_migrations — each by its own number, so one added below a number
// already applied (branches merged in another order) still runs. Running it
// again changes nothing; several nodes may run it at once (they take turns).
// It refuses a database that recorded a migration this binary does not have
// (a newer schema).
func (db *DB) Migrate(ctx context.Context) error {
	all, err := migrations()
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if db.d.migrateLock != "" {
			if _, err := tx.ExecContext(ctx, db.d.migrateLock); err != nil {
				return fmt.Errorf("lock: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    BIGINT PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at BIGINT NOT NULL
		)`); err != nil {
			return err
		}
		known := map[int]bool{}
		for _, m := range all {
			known[m.version] = true
		}
		applied := map[int]bool{}
		rows, err := tx.QueryContext(ctx, "SELECT version FROM schema_migrations")
		if err != nil {
			return err
		}
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return err
			}
			applied[v] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for v := range applied {
			if !known[v] {
				return fmt.Errorf("the database has migration %d, which this binary does not know: run a newer onair", v)
			}
		}
		for _, m := range all {
			if applied[m.version] {
				continue
			}
			body, err := db.d.expand(m.sql)
			if err != nil {
				return fmt.Errorf("%04d_%s: %w", m.version, m.name, err)
			}
			// No arguments: both drivers run a multi-statement script as is.
			if _, err := tx.ExecContext(ctx, body); err != nil {
				return fmt.Errorf("%04d_%s: %w", m.version, m.name, err)
			}
			if _, err := db.exec(ctx, tx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				m.version, m.name, ms(db.now())); err != nil {
				return fmt.Errorf("%04d_%s: %w", m.version, m.name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}
