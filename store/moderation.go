package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// RoomBan keeps a user out of a room's chat until Until (zero: until lifted).
type RoomBan struct {
	RoomID, UserID string
	Until          time.Time
	Reason         string
	ByID           string
}

// AuditEntry is one moderation action: who did what to whom, when, and why.
type AuditEntry struct {
	ID       string
	At       time.Time
	ActorID  string
	Action   string // delete_message, room_ban, room_timeout, room_unban, moderator_add, moderator_remove, ban, unban
	RoomID   string
	TargetID string
	Reason   string
}

// SetModerator appoints (on) or removes a room moderator; both are idempotent.
func (db *DB) SetModerator(ctx context.Context, roomID, userID string, on bool) error {
	var err error
	if on {
		_, err = db.exec(ctx, db.w, `INSERT INTO room_moderators (room_id, user_id, created_at) VALUES (?, ?, ?)
			ON CONFLICT (room_id, user_id) DO NOTHING`, roomID, userID, ms(db.nowMS()))
	} else {
		_, err = db.exec(ctx, db.w, "DELETE FROM room_moderators WHERE room_id = ? AND user_id = ?", roomID, userID)
	}
	if err != nil {
		return fmt.Errorf("store: moderator %q of %q: %w", userID, roomID, db.d.mapErr(err, ErrConflict))
	}
	return nil
}

// IsModerator reports whether userID moderates roomID.
func (db *DB) IsModerator(ctx context.Context, roomID, userID string) (bool, error) {
	var one int
	err := db.queryRow(ctx, db.r, "SELECT 1 FROM room_moderators WHERE room_id = ? AND user_id = ?", roomID, userID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: is %q a moderator of %q: %w", userID, roomID, err)
	}
	return true, nil
}

// BanFromRoom bans or times out a user in a room, replacing an earlier ban.
func (db *DB) BanFromRoom(ctx context.Context, b RoomBan) error {
	if b.Reason == "" {
		return fmt.Errorf("store: room ban: %w: a reason is required", ErrInvalid)
	}
	until := int64(0)
	if !b.Until.IsZero() {
		until = ms(b.Until)
	}
	_, err := db.exec(ctx, db.w, `INSERT INTO room_bans (room_id, user_id, until_ms, reason, by_id, created_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (room_id, user_id) DO UPDATE SET until_ms = excluded.until_ms, reason = excluded.reason, by_id = excluded.by_id, created_at = excluded.created_at`,
		b.RoomID, b.UserID, until, b.Reason, b.ByID, ms(db.nowMS()))
	if err != nil {
		return fmt.Errorf("store: ban %q from %q: %w", b.UserID, b.RoomID, db.d.mapErr(err, ErrConflict))
	}
	return nil
}

// LiftRoomBan ends a user's ban in a room, if any.
func (db *DB) LiftRoomBan(ctx context.Context, roomID, userID string) error {
	if _, err := db.exec(ctx, db.w, "DELETE FROM room_bans WHERE room_id = ? AND user_id = ?", roomID, userID); err != nil {
		return fmt.Errorf("store: lift ban of %q in %q: %w", userID, roomID, err)
	}
	return nil
}

// ActiveRoomBan returns the user's ban in the room if it is in force at now.
func (db *DB) ActiveRoomBan(ctx context.Context, roomID, userID string, now time.Time) (RoomBan, bool, error) {
	b := RoomBan{RoomID: roomID, UserID: userID}
	var until int64
	err := db.queryRow(ctx, db.r, "SELECT until_ms, reason, by_id FROM room_bans WHERE room_id = ? AND user_id = ?", roomID, userID).
		Scan(&until, &b.Reason, &b.ByID)
	if errors.Is(err, sql.ErrNoRows) {
		return RoomBan{}, false, nil
	}
	if err != nil {
		return RoomBan{}, false, fmt.Errorf("store: ban of %q in %q: %w", userID, roomID, err)
	}
	if until != 0 {
		b.Until = fromMS(until)
		if !now.Before(b.Until) {
			return RoomBan{}, false, nil
		}
	}
	return b, true, nil
}

// Audit records a moderation action.
func (db *DB) Audit(ctx context.Context, e AuditEntry) error {
	if e.ActorID == "" || e.Action == "" {
		return fmt.Errorf("store: audit: %w: actor and action are required", ErrInvalid)
	}
	at := db.nowMS()
	id, err := newID(at)
	if err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	if _, err := db.exec(ctx, db.w, `INSERT INTO audit_log (id, at, actor_id, action, room_id, target_id, reason) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		id, ms(at), e.ActorID, e.Action, e.RoomID, e.TargetID, e.Reason); err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return nil
}

// AuditLog returns the newest entries first (limit 0 means 50, at most 500).
func (db *DB) AuditLog(ctx context.Context, limit int) ([]AuditEntry, error) {
	rows, err := db.query(ctx, db.r, "SELECT id, at, actor_id, action, room_id, target_id, reason FROM audit_log ORDER BY id DESC LIMIT ?", clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.ActorID, &e.Action, &e.RoomID, &e.TargetID, &e.Reason); err != nil {
			return nil, fmt.Errorf("store: audit log: %w", err)
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
