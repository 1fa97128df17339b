package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Recording states.
const (
	RecordingRecording = "recording" // the broadcast is being written
	RecordingReady     = "ready"     // Path plays
	RecordingFailed    = "failed"    // nothing playable; Reason says why
)

// Recording is the record of a broadcast's recording; its files live in the
// data folder (media/egress writes them).
type Recording struct {
	ID         string // the broadcast's id
	RoomID     string
	StartedAt  time.Time
	EndedAt    *time.Time // nil while recording
	DurationMS int64
	Bytes      int64
	Path       string
	Status     string
	Reason     string
}

// RecordingEnd is how a recording ended.
type RecordingEnd struct {
	EndedAt    time.Time
	DurationMS int64
	Bytes      int64
	Path       string
	Status     string // RecordingReady or RecordingFailed
	Reason     string
}

const recordingCols = "id, room_id, started_at, ended_at, duration_ms, bytes, path, status, reason"

func scanRecording(s scanner) (Recording, error) {
	var r Recording
	var started int64
	var ended sql.NullInt64
	if err := s.Scan(&r.ID, &r.RoomID, &started, &ended, &r.DurationMS, &r.Bytes, &r.Path, &r.Status, &r.Reason); err != nil {
		return Recording{}, err
	}
	r.StartedAt = fromMS(started)
	if ended.Valid {
		t := fromMS(ended.Int64)
		r.EndedAt = &t
	}
	return r, nil
}

// CreateRecording records that broadcast r.ID of room r.RoomID is being
// recorded into r.Path since r.StartedAt (status recording). An unknown
// broadcast or room is ErrNotFound, a broadcast recorded already ErrConflict.
func (db *DB) CreateRecording(ctx context.Context, r Recording) (Recording, error) {
	if r.ID == "" || r.RoomID == "" || r.Path == "" || r.StartedAt.IsZero() {
		return Recording{}, fmt.Errorf("store: recording: %w: a broadcast, a room, a path and a start are required", ErrInvalid)
	}
	r = Recording{ID: r.ID, RoomID: r.RoomID, StartedAt: fromMS(ms(r.StartedAt)), Path: r.Path, Status: RecordingRecording}
	if _, err := db.exec(ctx, db.w, "INSERT INTO recordings (id, room_id, started_at, path, status) VALUES (?, ?, ?, ?, ?)",
		r.ID, r.RoomID, ms(r.StartedAt), r.Path, r.Status); err != nil {
		return Recording{}, fmt.Errorf("store: recording %s: %w", r.ID, db.d.mapErr(err, ErrConflict))
	}
	return r, nil
}

// FinishRecording ends a recording as e says and returns it. ErrNotFound if
// there is no such recording, ErrConflict if it ended already, ErrInvalid for
// a state other than ready or failed.
func (db *DB) FinishRecording(ctx context.Context, id string, e RecordingEnd) (Recording, error) {
	if e.Status != RecordingReady && e.Status != RecordingFailed || e.DurationMS < 0 || e.Bytes < 0 || e.EndedAt.IsZero() {
		return Recording{}, fmt.Errorf("store: finish recording %q: %w: ready or failed, an end, no negative sizes", id, ErrInvalid)
	}
	r, err := scanRecording(db.queryRow(ctx, db.w, `UPDATE recordings SET ended_at = ?, duration_ms = ?, bytes = ?,
			path = COALESCE(NULLIF(?, ''), path), status = ?, reason = ?
		WHERE id = ? AND status = 'recording' RETURNING `+recordingCols,
		ms(e.EndedAt), e.DurationMS, e.Bytes, e.Path, e.Status, e.Reason, id))
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := db.Recording(ctx, id); err != nil {
			return Recording{}, err
		}
		return Recording{}, fmt.Errorf("store: finish recording %q: %w: it ended already", id, ErrConflict)
	}
	if err != nil {
		return Recording{}, fmt.Errorf("store: finish recording %q: %w", id, err)
	}
	return r, nil
}

// Recording returns the recording with id, or ErrNotFound.
func (db *DB) Recording(ctx context.Context, id string) (Recording, error) {
	r, err := scanRecording(db.queryRow(ctx, db.r, "SELECT "+recordingCols+" FROM recordings WHERE id = ?", id))
	if err != nil {
		return Recording{}, fmt.Errorf("store: recording %q: %w", id, notFound(err))
	}
	return r, nil
}

func (db *DB) recordings(ctx context.Context, what, q string, args ...any) ([]Recording, error) {
	rows, err := db.query(ctx, db.r, "SELECT "+recordingCols+" FROM recordings "+q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rows.Close()
	out := []Recording{}
	for rows.Next() {
		r, err := scanRecording(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return out, nil
}

// RoomRecordings returns a room's recordings, newest first, at most limit
// (0 means 50, the most is 500).
func (db *DB) RoomRecordings(ctx context.Context, roomID string, limit int) ([]Recording, error) {
	return db.recordings(ctx, "recordings of room "+roomID,
		"WHERE room_id = ? ORDER BY started_at DESC, id DESC LIMIT ?", roomID, clampLimit(limit))
}

// RecordingsStartedBefore returns recordings started before t, oldest
// first, at most limit (0 means 50, the most is 500): those past retention.
func (db *DB) RecordingsStartedBefore(ctx context.Context, t time.Time, limit int) ([]Recording, error) {
	return db.recordings(ctx, "old recordings", "WHERE started_at < ? ORDER BY started_at, id LIMIT ?", ms(t), clampLimit(limit))
}

// RecordingsInProgress returns the recordings still being written, oldest
// first (after a crash, those no node writes any more).
func (db *DB) RecordingsInProgress(ctx context.Context) ([]Recording, error) {
	return db.recordings(ctx, "recordings in progress", "WHERE status = 'recording' ORDER BY started_at, id LIMIT ?", maxLimit)
}

// DeleteRecording removes a recording's row; ErrNotFound if there is none.
func (db *DB) DeleteRecording(ctx context.Context, id string) error {
	res, err := db.exec(ctx, db.w, "DELETE FROM recordings WHERE id = ?", id)
	if err == nil {
		err = affected(res)
	}
	if err != nil {
		return fmt.Errorf("store: delete recording %q: %w", id, err)
	}
	return nil
}

// RoomRecord returns the streamer's choice for recording their room: nil
// when they made none (the platform default applies). ErrNotFound for an
// unknown room.
func (db *DB) RoomRecord(ctx context.Context, roomID string) (*bool, error) {
	var rec sql.NullBool
	err := db.queryRow(ctx, db.r, `SELECT rr.record FROM rooms r LEFT JOIN room_recording rr ON rr.room_id = r.id WHERE r.id = ?`, roomID).Scan(&rec)
	if err != nil {
		return nil, fmt.Errorf("store: recording choice of room %q: %w", roomID, notFound(err))
	}
	if !rec.Valid {
		return nil, nil
	}
	return &rec.Bool, nil
}

// SetRoomRecord stores the streamer's choice for recording their room; nil
// forgets it (back to the platform default). ErrNotFound for an unknown room.
func (db *DB) SetRoomRecord(ctx context.Context, roomID string, record *bool) error {
	var err error
	if record == nil {
		_, err = db.RoomByID(ctx, roomID)
		if err == nil {
			_, err = db.exec(ctx, db.w, "DELETE FROM room_recording WHERE room_id = ?", roomID)
		}
	} else {
		_, err = db.exec(ctx, db.w, `INSERT INTO room_recording (room_id, record, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (room_id) DO UPDATE SET record = excluded.record, updated_at = excluded.updated_at`, roomID, *record, ms(db.now()))
		err = db.d.mapErr(err, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: recording choice of room %q: %w", roomID, err)
	}
	return nil
}
