package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

const roomCols = "id, owner_id, title, cover_url, category, private, updated_at, slow_mode_seconds, followers_only, min_account_age_minutes"

func scanRoom(s scanner) (Room, error) {
	var r Room
	var updated int64
	if err := s.Scan(&r.ID, &r.OwnerID, &r.Title, &r.CoverURL, &r.Category, &r.Private, &updated,
		&r.SlowModeSeconds, &r.FollowersOnly, &r.MinAccountAgeMinutes); err != nil {
		return Room{}, err
	}
	r.UpdatedAt = fromMS(updated)
	return r, nil
}

// RoomByID returns the room, or ErrNotFound.
func (db *DB) RoomByID(ctx context.Context, id string) (Room, error) {
	r, err := scanRoom(db.queryRow(ctx, db.r, "SELECT "+roomCols+" FROM rooms WHERE id = ?", id))
	if err != nil {
		return Room{}, fmt.Errorf("store: room %q: %w", id, notFound(err))
	}
	return r, nil
}

// UpdateRoom changes the fields of the room that p sets and returns the room as
// it is now; ErrNotFound if there is no such room. An empty patch changes
// nothing.
func (db *DB) UpdateRoom(ctx context.Context, id string, p RoomPatch) (Room, error) {
	if p.empty() {
		return db.RoomByID(ctx, id)
	}
	// A nil pointer binds as NULL, and COALESCE keeps the stored value.
	r, err := scanRoom(db.queryRow(ctx, db.w, `UPDATE rooms SET
			title = COALESCE(?, title), cover_url = COALESCE(?, cover_url),
			category = COALESCE(?, category), private = COALESCE(?, private),
			slow_mode_seconds = COALESCE(?, slow_mode_seconds), followers_only = COALESCE(?, followers_only),
			min_account_age_minutes = COALESCE(?, min_account_age_minutes), updated_at = ?
		WHERE id = ? RETURNING `+roomCols,
		p.Title, p.CoverURL, p.Category, p.Private, p.SlowModeSeconds, p.FollowersOnly, p.MinAccountAgeMinutes, ms(db.now()), id))
	if err != nil {
		return Room{}, fmt.Errorf("store: update room %q: %w", id, notFound(err))
	}
	return r, nil
}

// roomsBatch bounds the ids of one query, well under both engines' limits on
// parameters.
const roomsBatch = 500

// Rooms returns the rooms with these ids, keyed by id, in one query per 500
// ids; ids with no room are absent from the map, repeats are fine.
func (db *DB) Rooms(ctx context.Context, ids []string) (map[string]Room, error) {
	out := make(map[string]Room, len(ids))
	for _, chunk := range idBatches(ids) {
		q := "SELECT " + roomCols + " FROM rooms WHERE id IN (?" + strings.Repeat(", ?", len(chunk)-1) + ")"
		if err := db.collectRooms(ctx, out, q, chunk); err != nil {
			return nil, fmt.Errorf("store: rooms: %w", err)
		}
	}
	return out, nil
}

func (db *DB) collectRooms(ctx context.Context, out map[string]Room, q string, args []any) error {
	rows, err := db.query(ctx, db.r, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRoom(rows)
		if err != nil {
			return err
		}
		out[r.ID] = r
	}
	return rows.Err()
}

const broadcastCols = "id, room_id, started_at, ended_at, peak_viewers, total_viewers"

func scanBroadcast(s scanner) (Broadcast, error) {
	var b Broadcast
	var started int64
	var ended sql.NullInt64
	if err := s.Scan(&b.ID, &b.RoomID, &started, &ended, &b.PeakViewers, &b.TotalViewers); err != nil {
		return Broadcast{}, err
	}
	b.StartedAt = fromMS(started)
	if ended.Valid {
		t := fromMS(ended.Int64)
		b.EndedAt = &t
	}
	return b, nil
}

// StartBroadcast records that the room went live at `at`. A room has at most
// one live broadcast: one still open (its node died before ending it) is ended
// at `at` first, in the same transaction. ErrNotFound if there is no such room.
func (db *DB) StartBroadcast(ctx context.Context, roomID string, at time.Time) (Broadcast, error) {
	at = fromMS(ms(at))
	id, err := newID(at)
	if err != nil {
		return Broadcast{}, fmt.Errorf("store: start broadcast in room %q: %w", roomID, err)
	}
	b := Broadcast{ID: id, RoomID: roomID, StartedAt: at}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.exec(ctx, tx, "UPDATE broadcasts SET ended_at = ? WHERE room_id = ? AND ended_at IS NULL", ms(at), roomID); err != nil {
			return err
		}
		_, err := db.exec(ctx, tx, "INSERT INTO broadcasts (id, room_id, started_at) VALUES (?, ?, ?)", b.ID, roomID, ms(at))
		return err
	})
	if err != nil {
		return Broadcast{}, fmt.Errorf("store: start broadcast in room %q: %w", roomID, db.d.mapErr(err, ErrConflict))
	}
	return b, nil
}

// EndBroadcast records the end of a live broadcast with its viewer figures.
// ErrNotFound if there is no such broadcast, ErrConflict if it already ended.
func (db *DB) EndBroadcast(ctx context.Context, id string, at time.Time, peak, total int) error {
	if peak < 0 || total < 0 {
		return fmt.Errorf("store: end broadcast %q: %w: negative viewer count", id, ErrInvalid)
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, `UPDATE broadcasts SET ended_at = ?, peak_viewers = ?, total_viewers = ?
			WHERE id = ? AND ended_at IS NULL`, ms(at), peak, total, id)
		if err != nil {
			return err
		}
		if err := affected(res); !errors.Is(err, ErrNotFound) {
			return err
		}
		var one int
		if err := db.queryRow(ctx, tx, "SELECT 1 FROM broadcasts WHERE id = ?", id).Scan(&one); err != nil {
			return notFound(err)
		}
		return fmt.Errorf("%w: it already ended", ErrConflict)
	})
	if err != nil {
		return fmt.Errorf("store: end broadcast %q: %w", id, err)
	}
	return nil
}

// Broadcast limits: a limit of 0 or less means defaultLimit, more than
// maxLimit means maxLimit.
const (
	defaultLimit = 50
	maxLimit     = 500
)

func clampLimit(n int) int {
	if n <= 0 {
		return defaultLimit
	}
	return min(n, maxLimit)
}

// Broadcasts returns the room's broadcasts, newest first, at most limit (0
// means 50, the most is 500). An unknown room has none.
func (db *DB) Broadcasts(ctx context.Context, roomID string, limit int) ([]Broadcast, error) {
	rows, err := db.query(ctx, db.r, "SELECT "+broadcastCols+
		" FROM broadcasts WHERE room_id = ? ORDER BY started_at DESC, id DESC LIMIT ?", roomID, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: broadcasts of room %q: %w", roomID, err)
	}
	defer rows.Close()
	var out []Broadcast
	for rows.Next() {
		b, err := scanBroadcast(rows)
		if err != nil {
			return nil, fmt.Errorf("store: broadcasts of room %q: %w", roomID, err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: broadcasts of room %q: %w", roomID, err)
	}
	return out, nil
}
