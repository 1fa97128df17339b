// Package store is onair's system of record: users and their roles, bans and
// verification, stream-key hashes, revoked session tokens, rooms, broadcasts,
// follows and the platform settings. Other parts of onair hold hot, shared or
// derived state elsewhere (presence and viewer counts in memory or Redis, chat
// on NATS); what must survive a restart of every node lives here.
//
// One code path serves two engines. [Open] picks the engine from the DSN:
//
//   - a plain file path, or sqlite:///abs/path/onair.db (sqlite://rel/path.db is
//     relative): SQLite through the pure-Go modernc.org/sqlite driver, in WAL
//     mode with foreign keys on, synchronous=FULL and busy_timeout=5000. Writes go
//     through a pool of exactly one connection whose transactions start with
//     BEGIN IMMEDIATE, so concurrent writers queue in Go instead of failing with
//     SQLITE_BUSY; reads use a separate read-only pool and run alongside.
//   - postgres://... or postgresql://...: PostgreSQL through pgx's database/sql
//     driver (github.com/jackc/pgx/v5/stdlib); reads and writes share one pool.
//
// SQL is written once with ? placeholders and rebound to $n for PostgreSQL. The
// few real differences between the engines (column types in migrations, the
// migration lock, how a constraint violation is reported) live in one dialect
// value (dialect.go). Upserts use INSERT ... ON CONFLICT, which both engines
// accept as written.
//
// Schema changes are embedded, versioned SQL files (migrations/NNNN_name.sql)
// applied by [DB.Migrate] in one transaction, recorded in schema_migrations.
// Open never migrates; a database newer than the binary is refused by Migrate.
//
// Conventions:
//
//   - IDs (users, broadcasts, follows) are ULIDs made in Go: 26 characters of
//     Crockford base32, upper case, ordered by creation time, so they double as
//     pagination cursors. A room's ID is its owner's name, as stored.
//   - Times are stored as integer milliseconds since the Unix epoch (BIGINT),
//     UTC by definition, and come back as time.Time in UTC truncated to the
//     millisecond. A zero time.Time means "never" where a method says so.
//   - Names are unique case-insensitively: each user row keeps name_key, the
//     name lowered in Go (strings.ToLower), under a plain unique constraint, so
//     both engines fold case the same way. Lookups by name fold the same way.
//   - Every change of more than one statement runs in one transaction; on error
//     nothing is left half-written.
//   - Errors wrap the sentinels in errors.go with %w: [ErrNotFound],
//     [ErrNameTaken], [ErrConflict], [ErrInvalid]. Unique and foreign-key
//     violations of both drivers are mapped to them.
package store
