package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// HeldMessage is a chat message the word filter held for a moderator.
type HeldMessage struct {
	ID       string
	At       time.Time
	RoomID   string
	UserID   string
	UserName string
	Kind     string // chat or danmaku
	Body     string // the message body as JSON
	Status   string // pending, approved or rejected
}

// Held-message states.
const (
	HeldPending  = "pending"
	HeldApproved = "approved"
	HeldRejected = "rejected"
)

// HoldMessage keeps m (ID, At and Status are set here) and returns it.
func (db *DB) HoldMessage(ctx context.Context, m HeldMessage) (HeldMessage, error) {
	if m.RoomID == "" || m.UserID == "" || m.Kind == "" || m.Body == "" {
		return HeldMessage{}, fmt.Errorf("store: hold message: %w: room, user, kind and body are required", ErrInvalid)
	}
	m.At = db.nowMS()
	id, err := newID(m.At)
	if err != nil {
		return HeldMessage{}, fmt.Errorf("store: hold message: %w", err)
	}
	m.ID, m.Status = id, HeldPending
	if _, err := db.exec(ctx, db.w, `INSERT INTO held_messages (id, room_id, user_id, user_name, kind, body) VALUES (?, ?, ?, ?, ?, ?)`,
		m.ID, m.RoomID, m.UserID, m.UserName, m.Kind, m.Body); err != nil {
		return HeldMessage{}, fmt.Errorf("store: hold message in %q: %w", m.RoomID, db.d.mapErr(err, ErrConflict))
	}
	return m, nil
}

// HeldMessages returns a room's pending messages, oldest first (limit 0 means
// 50, at most 500).
func (db *DB) HeldMessages(ctx context.Context, roomID string, limit int) ([]HeldMessage, error) {
	rows, err := db.query(ctx, db.r, `SELECT id, room_id, user_id, user_name, kind, body, status FROM held_messages
		WHERE room_id = ? AND status = ? ORDER BY id LIMIT ?`, roomID, HeldPending, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: held messages of %q: %w", roomID, err)
	}
	defer rows.Close()
	var out []HeldMessage
	for rows.Next() {
		m, err := scanHeld(rows)
		if err != nil {
			return nil, fmt.Errorf("store: held messages of %q: %w", roomID, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// DecideHeld moves a pending message of roomID to status (approved or
// rejected) and returns it. Exactly one decision wins: a message that is not
// pending (decided already, or never held in that room) is ErrNotFound.
// reopen (status pending) undoes an approval whose publication failed.
func (db *DB) DecideHeld(ctx context.Context, roomID, id, status, byID string) (HeldMessage, error) {
	from := HeldPending
	switch status {
	case HeldApproved, HeldRejected:
	case HeldPending:
		from = HeldApproved
	default:
		return HeldMessage{}, fmt.Errorf("store: decide held message: %w: status %q", ErrInvalid, status)
	}
	var m HeldMessage
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, `UPDATE held_messages SET status = ?, decided_by = ?, decided_at = ?
			WHERE id = ? AND room_id = ? AND status = ?`, status, byID, ms(db.nowMS()), id, roomID, from)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("%w: no %s message %s in room %s", ErrNotFound, from, id, roomID)
		}
		m, err = scanHeld(db.queryRow(ctx, tx, `SELECT id, room_id, user_id, user_name, kind, body, status FROM held_messages WHERE id = ?`, id))
		return err
	})
	if err != nil {
		return HeldMessage{}, fmt.Errorf("store: decide held message: %w", err)
	}
	return m, nil
}

func scanHeld(s interface{ Scan(...any) error }) (HeldMessage, error) {
	var m HeldMessage
	err := s.Scan(&m.ID, &m.RoomID, &m.UserID, &m.UserName, &m.Kind, &m.Body, &m.Status)
	if errors.Is(err, sql.ErrNoRows) {
		return HeldMessage{}, ErrNotFound
	}
	if err != nil {
		return HeldMessage{}, err
	}
	m.At = idTime(m.ID)
	return m, nil
}
