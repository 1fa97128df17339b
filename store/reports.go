package store

import (
	"context"
	"fmt"
	"time"
)

// Report is a user's report of a message or a room.
type Report struct {
	ID         string
	At         time.Time
	ReporterID string
	RoomID     string
	MessageID  string // empty: the room itself
	Reason     string
	State      string // open, resolved
	ResolvedBy string
	ResolvedAt time.Time
}

// CreateReport queues a report; an unknown room or reporter is ErrNotFound.
func (db *DB) CreateReport(ctx context.Context, r Report) (Report, error) {
	if r.Reason == "" || r.ReporterID == "" || r.RoomID == "" {
		return Report{}, fmt.Errorf("store: report: %w: reporter, room and reason are required", ErrInvalid)
	}
	at := db.nowMS()
	id, err := newID(at)
	if err != nil {
		return Report{}, fmt.Errorf("store: report: %w", err)
	}
	r.ID, r.At, r.State = id, at, "open"
	if _, err := db.exec(ctx, db.w, `INSERT INTO reports (id, at, reporter_id, room_id, message_id, reason) VALUES (?, ?, ?, ?, ?, ?)`,
		r.ID, ms(at), r.ReporterID, r.RoomID, r.MessageID, r.Reason); err != nil {
		return Report{}, fmt.Errorf("store: report: %w", db.d.mapErr(err, ErrConflict))
	}
	return r, nil
}

// Reports lists reports in a state, newest first (limit 0 means 50, at most 500).
func (db *DB) Reports(ctx context.Context, state string, limit int) ([]Report, error) {
	rows, err := db.query(ctx, db.r, `SELECT id, at, reporter_id, room_id, message_id, reason, state, resolved_by, resolved_at
		FROM reports WHERE state = ? ORDER BY id DESC LIMIT ?`, state, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: reports: %w", err)
	}
	defer rows.Close()
	var out []Report
	for rows.Next() {
		var r Report
		var at, resolved int64
		if err := rows.Scan(&r.ID, &at, &r.ReporterID, &r.RoomID, &r.MessageID, &r.Reason, &r.State, &r.ResolvedBy, &resolved); err != nil {
			return nil, fmt.Errorf("store: reports: %w", err)
		}
		r.At = fromMS(at)
		if resolved != 0 {
			r.ResolvedAt = fromMS(resolved)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ResolveReport closes an open report; an unknown or already closed one is
// ErrNotFound.
func (db *DB) ResolveReport(ctx context.Context, id, byID string) error {
	res, err := db.exec(ctx, db.w, `UPDATE reports SET state = 'resolved', resolved_by = ?, resolved_at = ? WHERE id = ? AND state = 'open'`,
		byID, ms(db.nowMS()), id)
	if err != nil {
		return fmt.Errorf("store: resolve report %q: %w", id, err)
	}
	if err := affected(res); err != nil {
		return fmt.Errorf("store: resolve report %q: %w", id, err)
	}
	return nil
}
