package store

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect holds everything that differs between SQLite and PostgreSQL; the
// queries themselves are shared.
type dialect struct {
	name string
	// numbered: placeholders are $1, $2, ... instead of ?.
	numbered bool
	// types replaces {{token}} in migration files: the column types that differ.
	types map[string]string
	// migrateLock, if set, runs first in the migration transaction so that
	// nodes starting together apply migrations one at a time. SQLite needs none:
	// the writer's transactions begin IMMEDIATE, which takes the write lock.
	migrateLock string
	// violation tells which kind of constraint err violated, if any.
	violation func(err error) violation
}

type violation int

const (
	noViolation violation = iota
	uniqueViolation
	foreignKeyViolation
)

var sqliteDialect = &dialect{
	name: "sqlite",
	types: map[string]string{
		"bytes": "BLOB",
		// SQLite's default BINARY collation already compares bytes.
		"key": "TEXT",
	},
	violation: func(err error) violation {
		var e *sqlite.Error
		if !errors.As(err, &e) {
			return noViolation
		}
		switch e.Code() { // extended result codes: the driver turns them on
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return uniqueViolation
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return foreignKeyViolation
		}
		return noViolation
	},
}

var postgresDialect = &dialect{
	name:     "postgres",
	numbered: true,
	types: map[string]string{
		"bytes": "BYTEA",
		// Byte order whatever the database's locale: ULIDs sort by time and
		// keys compare exactly, as on SQLite.
		"key": `TEXT COLLATE "C"`,
	},
	// Any constant works; it only has to be the same on every node.
	migrateLock: "SELECT pg_advisory_xact_lock(7306086815223604068)",
	violation: func(err error) violation {
		var e *pgconn.PgError
		if !errors.As(err, &e) {
			return noViolation
		}
		switch e.Code {
		case "23505": // unique_violation
			return uniqueViolation
		case "23503": // foreign_key_violation
			return foreignKeyViolation
		}
		return noViolation
	},
}

// rebind turns ? placeholders into $1, $2, ... where the dialect needs it. A ?
// inside a quoted string or identifier is left alone.
func (d *dialect) rebind(q string) string {
	if !d.numbered || strings.IndexByte(q, '?') < 0 {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	var quote byte // the quote we are inside, or 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0 // a doubled quote closes and reopens: still right
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// expand replaces the {{token}}s of a migration with the dialect's types.
func (d *dialect) expand(sql string) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(sql, "{{")
		if i < 0 {
			b.WriteString(sql)
			return b.String(), nil
		}
		j := strings.Index(sql[i:], "}}")
		if j < 0 {
			return "", fmt.Errorf("unclosed {{ in migration")
		}
		tok := sql[i+2 : i+j]
		typ, ok := d.types[tok]
		if !ok {
			return "", fmt.Errorf("unknown migration token {{%s}}", tok)
		}
		b.WriteString(sql[:i])
		b.WriteString(typ)
		sql = sql[i+j+2:]
	}
}

// mapErr wraps a constraint violation in the matching sentinel: onUnique for a
// unique violation, ErrNotFound for a foreign key that points nowhere. Other
// errors come back as they are.
func (d *dialect) mapErr(err error, onUnique error) error {
	if err == nil {
		return nil
	}
	switch d.violation(err) {
	case uniqueViolation:
		return fmt.Errorf("%w (%w)", onUnique, err)
	case foreignKeyViolation:
		return fmt.Errorf("%w (%w)", ErrNotFound, err)
	}
	return err
}
