package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// RestreamTarget is an RTMP(S) destination a room's live stream is pushed to.
type RestreamTarget struct {
	ID        string // ULID, set by CreateRestreamTarget
	RoomID    string
	Name      string
	URL       string // rtmp://host[:port]/app or rtmps://..., without the key
	StreamKey string // never shown in full by the API, never logged
	Enabled   bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// RestreamPatch changes the fields it sets.
type RestreamPatch struct {
	Name      *string
	URL       *string
	StreamKey *string
	Enabled   *bool
}

const restreamCols = "id, room_id, name, url, stream_key, enabled, created_at, updated_at"

func scanRestreamTarget(s scanner) (RestreamTarget, error) {
	var t RestreamTarget
	var created, updated int64
	if err := s.Scan(&t.ID, &t.RoomID, &t.Name, &t.URL, &t.StreamKey, &t.Enabled, &created, &updated); err != nil {
		return RestreamTarget{}, err
	}
	t.CreatedAt, t.UpdatedAt = fromMS(created), fromMS(updated)
	return t, nil
}

func validRestreamURL(u string) bool {
	return strings.HasPrefix(u, "rtmp://") || strings.HasPrefix(u, "rtmps://")
}

// CreateRestreamTarget adds a target to t.RoomID (ID and times are set here)
// unless the room has max targets already (ErrConflict). An unknown room is
// ErrNotFound; a URL that is not rtmp:// or rtmps://, or an empty key,
// ErrInvalid. The count and the insert are one transaction that holds the
// room's row, so concurrent creates never pass max.
func (db *DB) CreateRestreamTarget(ctx context.Context, t RestreamTarget, max int) (RestreamTarget, error) {
	if t.RoomID == "" || !validRestreamURL(t.URL) || t.StreamKey == "" || max < 1 {
		return RestreamTarget{}, fmt.Errorf("store: restream target: %w: a room, an rtmp:// or rtmps:// URL, a stream key and a positive limit are required", ErrInvalid)
	}
	now := db.nowMS()
	id, err := newID(now)
	if err != nil {
		return RestreamTarget{}, err
	}
	t.ID, t.CreatedAt, t.UpdatedAt = id, now, now
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		// Writing the room's row locks it (PostgreSQL) until the commit.
		res, err := db.exec(ctx, tx, "UPDATE rooms SET updated_at = updated_at WHERE id = ?", t.RoomID)
		if err != nil {
			return err
		}
		if err := affected(res); err != nil {
			return fmt.Errorf("room %q: %w", t.RoomID, err)
		}
		var n int
		if err := db.queryRow(ctx, tx, "SELECT COUNT(*) FROM restream_targets WHERE room_id = ?", t.RoomID).Scan(&n); err != nil {
			return err
		}
		if n >= max {
			return fmt.Errorf("%w: room %q has %d restream targets, the most it may have", ErrConflict, t.RoomID, n)
		}
		_, err = db.exec(ctx, tx, "INSERT INTO restream_targets ("+restreamCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			t.ID, t.RoomID, t.Name, t.URL, t.StreamKey, t.Enabled, ms(now), ms(now))
		return db.d.mapErr(err, ErrConflict)
	})
	if err != nil {
		return RestreamTarget{}, fmt.Errorf("store: restream target: %w", err)
	}
	return t, nil
}

// RestreamTargets lists a room's targets, oldest first.
func (db *DB) RestreamTargets(ctx context.Context, roomID string) ([]RestreamTarget, error) {
	rows, err := db.query(ctx, db.r, "SELECT "+restreamCols+" FROM restream_targets WHERE room_id = ? ORDER BY id", roomID)
	if err != nil {
		return nil, fmt.Errorf("store: restream targets of %q: %w", roomID, err)
	}
	defer rows.Close()
	out := []RestreamTarget{}
	for rows.Next() {
		t, err := scanRestreamTarget(rows)
		if err != nil {
			return nil, fmt.Errorf("store: restream targets of %q: %w", roomID, err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: restream targets of %q: %w", roomID, err)
	}
	return out, nil
}

// RestreamTarget returns the room's target id, or ErrNotFound (also when the
// target belongs to another room).
func (db *DB) RestreamTarget(ctx context.Context, roomID, id string) (RestreamTarget, error) {
	t, err := scanRestreamTarget(db.queryRow(ctx, db.r, "SELECT "+restreamCols+" FROM restream_targets WHERE room_id = ? AND id = ?", roomID, id))
	if err != nil {
		return RestreamTarget{}, fmt.Errorf("store: restream target %q: %w", id, notFound(err))
	}
	return t, nil
}

// UpdateRestreamTarget changes what p sets and returns the target as it is
// now; ErrNotFound if the room has no such target, ErrInvalid for a URL that
// is not rtmp:// or rtmps:// or an empty key.
func (db *DB) UpdateRestreamTarget(ctx context.Context, roomID, id string, p RestreamPatch) (RestreamTarget, error) {
	if p.URL != nil && !validRestreamURL(*p.URL) || p.StreamKey != nil && *p.StreamKey == "" {
		return RestreamTarget{}, fmt.Errorf("store: restream target: %w: an rtmp:// or rtmps:// URL and a non-empty key are required", ErrInvalid)
	}
	// A nil pointer binds as NULL, and COALESCE keeps the stored value.
	t, err := scanRestreamTarget(db.queryRow(ctx, db.w, `UPDATE restream_targets SET
			name = COALESCE(?, name), url = COALESCE(?, url), stream_key = COALESCE(?, stream_key),
			enabled = COALESCE(?, enabled), updated_at = ?
		WHERE room_id = ? AND id = ? RETURNING `+restreamCols,
		p.Name, p.URL, p.StreamKey, p.Enabled, ms(db.now()), roomID, id))
	if err != nil {
		return RestreamTarget{}, fmt.Errorf("store: update restream target %q: %w", id, notFound(err))
	}
	return t, nil
}

// DeleteRestreamTarget removes the room's target id; ErrNotFound if there is
// none.
func (db *DB) DeleteRestreamTarget(ctx context.Context, roomID, id string) error {
	res, err := db.exec(ctx, db.w, "DELETE FROM restream_targets WHERE room_id = ? AND id = ?", roomID, id)
	if err != nil {
		return fmt.Errorf("store: delete restream target %q: %w", id, err)
	}
	if err := affected(res); err != nil {
		return fmt.Errorf("store: delete restream target %q: %w", id, err)
	}
	return nil
}
