package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Voice clip scopes: who may hear a clip.
const (
	VoiceScopeRoom = "room" // ScopeID is the room
	VoiceScopeDM   = "dm"   // ScopeID is the other user of the conversation
)

// VoiceClip is the record of a voice message; the clip itself is a file in the
// data folder named by ID (media/voice writes it before the record).
type VoiceClip struct {
	ID         string // ULID, chosen by the caller: the file's name
	OwnerID    string
	DurationMS int64
	Bytes      int64
	ScopeKind  string // VoiceScopeRoom or VoiceScopeDM
	ScopeID    string
	CreatedAt  time.Time // set by CreateVoiceClip
}

// CreateVoiceClip records a clip (CreatedAt is set here) and returns it. An id
// already taken is ErrConflict, an unknown owner ErrNotFound.
func (db *DB) CreateVoiceClip(ctx context.Context, c VoiceClip) (VoiceClip, error) {
	switch {
	case len(c.ID) != 26 || c.OwnerID == "" || c.ScopeID == "":
		return VoiceClip{}, fmt.Errorf("store: voice clip: %w: a ULID, an owner and a scope are required", ErrInvalid)
	case c.DurationMS <= 0 || c.Bytes <= 0:
		return VoiceClip{}, fmt.Errorf("store: voice clip: %w: duration and size must be positive", ErrInvalid)
	case c.ScopeKind != VoiceScopeRoom && c.ScopeKind != VoiceScopeDM:
		return VoiceClip{}, fmt.Errorf("store: voice clip: %w: scope %q (room or dm)", ErrInvalid, c.ScopeKind)
	}
	c.CreatedAt = db.nowMS()
	if _, err := db.exec(ctx, db.w, `INSERT INTO voice_clips (id, owner_id, duration_ms, bytes, scope_kind, scope_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, c.ID, c.OwnerID, c.DurationMS, c.Bytes, c.ScopeKind, c.ScopeID, ms(c.CreatedAt)); err != nil {
		return VoiceClip{}, fmt.Errorf("store: voice clip %s: %w", c.ID, db.d.mapErr(err, ErrConflict))
	}
	return c, nil
}

// VoiceClip returns the clip with id, or ErrNotFound.
func (db *DB) VoiceClip(ctx context.Context, id string) (VoiceClip, error) {
	var c VoiceClip
	var created int64
	err := db.queryRow(ctx, db.r, `SELECT id, owner_id, duration_ms, bytes, scope_kind, scope_id, created_at FROM voice_clips WHERE id = ?`, id).
		Scan(&c.ID, &c.OwnerID, &c.DurationMS, &c.Bytes, &c.ScopeKind, &c.ScopeID, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return VoiceClip{}, fmt.Errorf("store: voice clip %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return VoiceClip{}, fmt.Errorf("store: voice clip %q: %w", id, err)
	}
	c.CreatedAt = fromMS(created)
	return c, nil
}
