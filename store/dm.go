package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DM is one private message.
type DM struct {
	ID     string
	At     time.Time
	FromID string
	ToID   string
	Body   string
	Read   bool
}

// Conversation is the last message with one other user and how many of theirs
// are unread.
type Conversation struct {
	OtherID string
	Last    DM
	Unread  int
}

// ErrBlocked: the recipient blocks the sender.
var ErrBlocked = errors.New("store: blocked")

// SendDM stores a message from one user to another, unless the recipient blocks
// the sender (ErrBlocked).
func (db *DB) SendDM(ctx context.Context, fromID, toID, body string) (DM, error) {
	if fromID == toID || body == "" {
		return DM{}, fmt.Errorf("store: dm: %w: two different users and a body are required", ErrInvalid)
	}
	if blocked, err := db.IsBlocked(ctx, toID, fromID); err != nil {
		return DM{}, err
	} else if blocked {
		return DM{}, fmt.Errorf("store: dm: %w", ErrBlocked)
	}
	at := db.nowMS()
	id, err := newID(at)
	if err != nil {
		return DM{}, fmt.Errorf("store: dm: %w", err)
	}
	if _, err := db.exec(ctx, db.w, "INSERT INTO direct_messages (id, from_id, to_id, body) VALUES (?, ?, ?, ?)", id, fromID, toID, body); err != nil {
		return DM{}, fmt.Errorf("store: dm: %w", db.d.mapErr(err, ErrConflict))
	}
	return DM{ID: id, At: at, FromID: fromID, ToID: toID, Body: body}, nil
}

const dmCols = "id, from_id, to_id, body, read_at"

func scanDM(s scanner) (DM, error) {
	var m DM
	var read int64
	if err := s.Scan(&m.ID, &m.FromID, &m.ToID, &m.Body, &read); err != nil {
		return DM{}, err
	}
	m.Read = read != 0
	m.At = idTime(m.ID)
	return m, nil
}

// DMHistory returns a page of the messages between two users, newest first,
// before the message id before ("" for the newest); the cursor for the next
// page is the last id returned, "" after the last page.
func (db *DB) DMHistory(ctx context.Context, userID, otherID, before string, limit int) ([]DM, string, error) {
	limit = clampLimit(limit)
	q := "SELECT " + dmCols + " FROM direct_messages WHERE ((from_id = ? AND to_id = ?) OR (from_id = ? AND to_id = ?))"
	args := []any{userID, otherID, otherID, userID}
	if before != "" {
		q += " AND id < ?"
		args = append(args, before)
	}
	q += " ORDER BY id DESC LIMIT ?"
	rows, err := db.query(ctx, db.r, q, append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("store: dm history: %w", err)
	}
	defer rows.Close()
	var out []DM
	for rows.Next() {
		m, err := scanDM(rows)
		if err != nil {
			return nil, "", fmt.Errorf("store: dm history: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// Conversations lists userID's conversations, the most recent first, with the
// number of unread messages from the other side.
func (db *DB) Conversations(ctx context.Context, userID string, limit int) ([]Conversation, error) {
	rows, err := db.query(ctx, db.r, `SELECT other, MAX(id), SUM(CASE WHEN to_id = ? AND read_at = 0 THEN 1 ELSE 0 END)
		FROM (SELECT CASE WHEN from_id = ? THEN to_id ELSE from_id END AS other, id, to_id, read_at
		      FROM direct_messages WHERE from_id = ? OR to_id = ?) t
		GROUP BY other ORDER BY MAX(id) DESC LIMIT ?`, userID, userID, userID, userID, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: conversations: %w", err)
	}
	var convs []Conversation
	var lastIDs []any
	for rows.Next() {
		var c Conversation
		if err := rows.Scan(&c.OtherID, &c.Last.ID, &c.Unread); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: conversations: %w", err)
		}
		convs = append(convs, c)
		lastIDs = append(lastIDs, c.Last.ID)
	}
	rows.Close()
	if len(convs) == 0 {
		return nil, rows.Err()
	}
	last := map[string]DM{}
	lrows, err := db.query(ctx, db.r, "SELECT "+dmCols+" FROM direct_messages WHERE id IN (?"+strings.Repeat(", ?", len(lastIDs)-1)+")", lastIDs...)
	if err != nil {
		return nil, fmt.Errorf("store: conversations: %w", err)
	}
	defer lrows.Close()
	for lrows.Next() {
		m, err := scanDM(lrows)
		if err != nil {
			return nil, fmt.Errorf("store: conversations: %w", err)
		}
		last[m.ID] = m
	}
	for i := range convs {
		convs[i].Last = last[convs[i].Last.ID]
	}
	return convs, lrows.Err()
}

// MarkRead marks every message from otherID to userID as read.
func (db *DB) MarkRead(ctx context.Context, userID, otherID string) error {
	if _, err := db.exec(ctx, db.w, "UPDATE direct_messages SET read_at = ? WHERE to_id = ? AND from_id = ? AND read_at = 0",
		ms(db.nowMS()), userID, otherID); err != nil {
		return fmt.Errorf("store: mark read: %w", err)
	}
	return nil
}

// SetBlocked makes blocker block (on) or unblock another user; idempotent.
func (db *DB) SetBlocked(ctx context.Context, blockerID, blockedID string, on bool) error {
	var err error
	if on {
		if blockerID == blockedID {
			return fmt.Errorf("store: block: %w: a user cannot block themselves", ErrConflict)
		}
		_, err = db.exec(ctx, db.w, `INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES (?, ?, ?)
			ON CONFLICT (blocker_id, blocked_id) DO NOTHING`, blockerID, blockedID, ms(db.nowMS()))
	} else {
		_, err = db.exec(ctx, db.w, "DELETE FROM blocks WHERE blocker_id = ? AND blocked_id = ?", blockerID, blockedID)
	}
	if err != nil {
		return fmt.Errorf("store: block: %w", db.d.mapErr(err, ErrConflict))
	}
	return nil
}

// IsBlocked reports whether blocker blocks blocked.
func (db *DB) IsBlocked(ctx context.Context, blockerID, blockedID string) (bool, error) {
	var one int
	err := db.queryRow(ctx, db.r, "SELECT 1 FROM blocks WHERE blocker_id = ? AND blocked_id = ?", blockerID, blockedID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: is blocked: %w", err)
	}
	return true, nil
}

// BlockedBy returns the ids of the users blocker blocks.
func (db *DB) BlockedBy(ctx context.Context, blockerID string) (map[string]bool, error) {
	rows, err := db.query(ctx, db.r, "SELECT blocked_id FROM blocks WHERE blocker_id = ?", blockerID)
	if err != nil {
		return nil, fmt.Errorf("store: blocked by %q: %w", blockerID, err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: blocked by %q: %w", blockerID, err)
		}
		out[id] = true
	}
	return out, rows.Err()
}
