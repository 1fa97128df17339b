package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// userCols are the columns scanUser reads, from users aliased u.
const userCols = "u.id, u.name, u.display_name, u.role, u.password_hash, u.banned, u.ban_reason, u.verified, u.level, u.created_at"

type scanner interface{ Scan(dest ...any) error }

func scanUser(s scanner, extra ...any) (User, error) {
	var u User
	var created int64
	dest := append([]any{&u.ID, &u.Name, &u.DisplayName, &u.Role, &u.PasswordHash,
		&u.Banned, &u.BanReason, &u.Verified, &u.Level, &created}, extra...)
	if err := s.Scan(dest...); err != nil {
		return User{}, err
	}
	u.CreatedAt = fromMS(created)
	return u, nil
}

// nameKey is how names are compared: case-insensitively.
func nameKey(name string) string { return strings.ToLower(name) }

// CreateUser adds a user. The name must be unique case-insensitively
// (ErrNameTaken otherwise). A streamer or higher also gets their room, with the
// name as its id, in the same transaction. The store does not check the name's
// format or the password; the caller does.
func (db *DB) CreateUser(ctx context.Context, nu NewUser) (User, error) {
	if nu.Role == "" {
		nu.Role = RoleViewer
	}
	if nu.Name == "" {
		return User{}, fmt.Errorf("store: create user: %w: empty name", ErrInvalid)
	}
	if !nu.Role.Valid() {
		return User{}, fmt.Errorf("store: create user %q: %w: role %q", nu.Name, ErrInvalid, nu.Role)
	}
	now := db.nowMS()
	id, err := newID(now)
	if err != nil {
		return User{}, fmt.Errorf("store: create user %q: %w", nu.Name, err)
	}
	u := User{ID: id, Name: nu.Name, DisplayName: nu.DisplayName, Role: nu.Role, PasswordHash: nu.PasswordHash, CreatedAt: now}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.exec(ctx, tx, `INSERT INTO users (id, name, name_key, display_name, role, password_hash, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Name, nameKey(u.Name), u.DisplayName, string(u.Role), u.PasswordHash, ms(now), ms(now)); err != nil {
			return err
		}
		if u.Role.AtLeast(RoleStreamer) {
			if _, err := db.exec(ctx, tx, "INSERT INTO rooms (id, owner_id, updated_at) VALUES (?, ?, ?)", u.Name, u.ID, ms(now)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return User{}, fmt.Errorf("store: create user %q: %w", nu.Name, db.d.mapErr(err, ErrNameTaken))
	}
	return u, nil
}

// UserByID returns the user with this id, or ErrNotFound.
func (db *DB) UserByID(ctx context.Context, id string) (User, error) {
	u, err := scanUser(db.queryRow(ctx, db.r, "SELECT "+userCols+" FROM users u WHERE u.id = ?", id))
	if err != nil {
		return User{}, fmt.Errorf("store: user %q: %w", id, notFound(err))
	}
	return u, nil
}

// UserByName returns the user with this name compared case-insensitively, or
// ErrNotFound.
func (db *DB) UserByName(ctx context.Context, name string) (User, error) {
	u, err := scanUser(db.queryRow(ctx, db.r, "SELECT "+userCols+" FROM users u WHERE u.name_key = ?", nameKey(name)))
	if err != nil {
		return User{}, fmt.Errorf("store: user named %q: %w", name, notFound(err))
	}
	return u, nil
}

// notFound turns sql.ErrNoRows into ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// SetRole changes a user's role. Promoting a user to streamer or higher gives
// them their room (id = name) in the same transaction if they have none yet; a
// demotion keeps the room and its history.
func (db *DB) SetRole(ctx context.Context, id string, role Role) error {
	if !role.Valid() {
		return fmt.Errorf("store: set role of %q: %w: role %q", id, ErrInvalid, role)
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		now := ms(db.now())
		var name string
		if err := db.queryRow(ctx, tx, "UPDATE users SET role = ?, updated_at = ? WHERE id = ? RETURNING name",
			string(role), now, id).Scan(&name); err != nil {
			return notFound(err)
		}
		if !role.AtLeast(RoleStreamer) {
			return nil
		}
		// A conflict on owner_id means the room exists; one on id (a room of
		// that name owned by someone else) is an error.
		_, err := db.exec(ctx, tx, "INSERT INTO rooms (id, owner_id, updated_at) VALUES (?, ?, ?) ON CONFLICT (owner_id) DO NOTHING",
			name, id, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: set role of %q: %w", id, db.d.mapErr(err, ErrConflict))
	}
	return nil
}

// setUser runs one UPDATE of a user row (what is a SET list, args its values)
// and reports ErrNotFound when there is no such user.
func (db *DB) setUser(ctx context.Context, op, id, what string, args ...any) error {
	args = append(args, ms(db.now()), id)
	res, err := db.exec(ctx, db.w, "UPDATE users SET "+what+", updated_at = ? WHERE id = ?", args...)
	if err == nil {
		err = affected(res)
	}
	if err != nil {
		return fmt.Errorf("store: %s of user %q: %w", op, id, err)
	}
	return nil
}

// SetBanned bans or unbans a user; the reason is kept only while banned.
func (db *DB) SetBanned(ctx context.Context, id string, banned bool, reason string) error {
	if !banned {
		reason = ""
	}
	return db.setUser(ctx, "set ban", id, "banned = ?, ban_reason = ?", banned, reason)
}

// SetVerified marks a user verified or not.
func (db *DB) SetVerified(ctx context.Context, id string, verified bool) error {
	return db.setUser(ctx, "set verified", id, "verified = ?", verified)
}

// SetLevel sets a user's level (0 or more).
func (db *DB) SetLevel(ctx context.Context, id string, level int) error {
	if level < 0 {
		return fmt.Errorf("store: set level of user %q: %w: level %d < 0", id, ErrInvalid, level)
	}
	return db.setUser(ctx, "set level", id, "level = ?", level)
}

// SetPassword replaces a user's password hash.
func (db *DB) SetPassword(ctx context.Context, id string, hash string) error {
	return db.setUser(ctx, "set password", id, "password_hash = ?", hash)
}

// CountUsers returns how many users there are.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := db.queryRow(ctx, db.r, "SELECT COUNT(*) FROM users").Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count users: %w", err)
	}
	return n, nil
}

// SetStreamKeyHash gives a user a stream key, kept only as the hash the caller
// computed; it replaces the user's previous key, which then finds no one. A hash
// that another user already has is ErrConflict; an unknown user ErrNotFound.
func (db *DB) SetStreamKeyHash(ctx context.Context, userID string, hash []byte) error {
	if len(hash) == 0 {
		return fmt.Errorf("store: set stream key of user %q: %w: empty hash", userID, ErrInvalid)
	}
	_, err := db.exec(ctx, db.w, `INSERT INTO stream_keys (user_id, key_hash, created_at) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET key_hash = excluded.key_hash, created_at = excluded.created_at`,
		userID, hash, ms(db.now()))
	if err != nil {
		return fmt.Errorf("store: set stream key of user %q: %w", userID, db.d.mapErr(err, ErrConflict))
	}
	return nil
}

// UserByStreamKeyHash returns the user whose stream key has this hash, or
// ErrNotFound. Banned users are returned too: the caller decides.
func (db *DB) UserByStreamKeyHash(ctx context.Context, hash []byte) (User, error) {
	if len(hash) == 0 {
		return User{}, fmt.Errorf("store: user by stream key: %w", ErrNotFound)
	}
	u, err := scanUser(db.queryRow(ctx, db.r,
		"SELECT "+userCols+" FROM stream_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = ?", hash))
	if err != nil {
		return User{}, fmt.Errorf("store: user by stream key: %w", notFound(err))
	}
	return u, nil
}

// RevokeToken records that the token with this id (a JWT's jti) is void until
// expiresAt, after which PurgeRevoked may forget it. Revoking again is fine; the
// later expiry is kept.
func (db *DB) RevokeToken(ctx context.Context, jti string, expiresAt time.Time) error {
	if jti == "" {
		return fmt.Errorf("store: revoke token: %w: empty token id", ErrInvalid)
	}
	_, err := db.exec(ctx, db.w, `INSERT INTO revoked_tokens (jti, expires_at) VALUES (?, ?)
		ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at
		WHERE excluded.expires_at > revoked_tokens.expires_at`, jti, ms(expiresAt))
	if err != nil {
		return fmt.Errorf("store: revoke token %q: %w", jti, err)
	}
	return nil
}

// IsRevoked reports whether the token with this id was revoked and not yet
// purged.
func (db *DB) IsRevoked(ctx context.Context, jti string) (bool, error) {
	var one int
	err := db.queryRow(ctx, db.r, "SELECT 1 FROM revoked_tokens WHERE jti = ?", jti).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: is token %q revoked: %w", jti, err)
	}
	return true, nil
}

// PurgeRevoked forgets revoked tokens that expired at or before now (they fail
// their expiry check anyway) and returns how many.
func (db *DB) PurgeRevoked(ctx context.Context, now time.Time) (int, error) {
	res, err := db.exec(ctx, db.w, "DELETE FROM revoked_tokens WHERE expires_at <= ?", ms(now))
	if err != nil {
		return 0, fmt.Errorf("store: purge revoked tokens: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: purge revoked tokens: %w", err)
	}
	return int(n), nil
}

// RevokeAllFor voids every token of the user issued before `before` ("log out
// everywhere"). The watermark only moves forward: an earlier time than the one
// stored changes nothing. It is kept at millisecond precision; a caller whose
// tokens carry whole seconds compares accordingly.
func (db *DB) RevokeAllFor(ctx context.Context, userID string, before time.Time) error {
	t := ms(before)
	return db.setUser(ctx, "revoke tokens", userID,
		"tokens_valid_after = CASE WHEN tokens_valid_after < ? THEN ? ELSE tokens_valid_after END", t, t)
}

// TokensValidAfter returns the user's watermark from RevokeAllFor: tokens
// issued before it are void. The zero time means none was set.
func (db *DB) TokensValidAfter(ctx context.Context, userID string) (time.Time, error) {
	var t int64
	if err := db.queryRow(ctx, db.r, "SELECT tokens_valid_after FROM users WHERE id = ?", userID).Scan(&t); err != nil {
		return time.Time{}, fmt.Errorf("store: tokens valid after, user %q: %w", userID, notFound(err))
	}
	if t == 0 {
		return time.Time{}, nil
	}
	return fromMS(t), nil
}
