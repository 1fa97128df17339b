package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Settings returns the platform settings, or DefaultSettings if none were
// ever stored.
func (db *DB) Settings(ctx context.Context) (Settings, error) {
	var s Settings
	err := db.queryRow(ctx, db.r, "SELECT broadcast_requires_verified, broadcast_min_level FROM settings WHERE id = 1").
		Scan(&s.BroadcastRequiresVerified, &s.BroadcastMinLevel)
	if errors.Is(err, sql.ErrNoRows) {
		return DefaultSettings(), nil
	}
	if err != nil {
		return Settings{}, fmt.Errorf("store: settings: %w", err)
	}
	return s, nil
}

// PutSettings replaces the platform settings.
func (db *DB) PutSettings(ctx context.Context, s Settings) error {
	if s.BroadcastMinLevel < 0 {
		return fmt.Errorf("store: put settings: %w: broadcast minimum level %d < 0", ErrInvalid, s.BroadcastMinLevel)
	}
	_, err := db.exec(ctx, db.w, `INSERT INTO settings (id, broadcast_requires_verified, broadcast_min_level, updated_at) VALUES (1, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET broadcast_requires_verified = excluded.broadcast_requires_verified,
			broadcast_min_level = excluded.broadcast_min_level, updated_at = excluded.updated_at`,
		s.BroadcastRequiresVerified, s.BroadcastMinLevel, ms(db.now()))
	if err != nil {
		return fmt.Errorf("store: put settings: %w", err)
	}
	return nil
}
