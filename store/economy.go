package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"unicode/utf8"
)

// EconomySettings returns the economy's terms as stored (a JSON document), or
// nil when an admin never saved any.
func (db *DB) EconomySettings(ctx context.Context) ([]byte, error) {
	var doc string
	err := db.queryRow(ctx, db.r, "SELECT doc FROM economy_settings WHERE id = 1").Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: economy settings: %w", err)
	}
	return []byte(doc), nil
}

// PutEconomySettings replaces the economy's terms (validated by the caller).
func (db *DB) PutEconomySettings(ctx context.Context, doc []byte) error {
	_, err := db.exec(ctx, db.w, `INSERT INTO economy_settings (id, doc, updated_at) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at`, string(doc), ms(db.now()))
	if err != nil {
		return fmt.Errorf("store: put economy settings: %w", err)
	}
	return nil
}

// StreamerCommission returns a streamer's own commission percent; ok is false
// when they have none (the platform's applies).
func (db *DB) StreamerCommission(ctx context.Context, userID string) (percent int, ok bool, err error) {
	err = db.queryRow(ctx, db.r, "SELECT commission_percent FROM streamer_terms WHERE user_id = ?", userID).Scan(&percent)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("store: commission of %q: %w", userID, err)
	}
	return percent, true, nil
}

// SetStreamerCommission sets (percent 0-100) or clears (percent < 0) a
// streamer's own commission.
func (db *DB) SetStreamerCommission(ctx context.Context, userID string, percent int) error {
	var err error
	switch {
	case percent < 0:
		_, err = db.exec(ctx, db.w, "DELETE FROM streamer_terms WHERE user_id = ?", userID)
	case percent > 100:
		return fmt.Errorf("store: commission: %w: %d%% is over 100", ErrInvalid, percent)
	default:
		_, err = db.exec(ctx, db.w, `INSERT INTO streamer_terms (user_id, commission_percent, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET commission_percent = excluded.commission_percent, updated_at = excluded.updated_at`,
			userID, percent, ms(db.now()))
	}
	if err != nil {
		return fmt.Errorf("store: commission of %q: %w", userID, db.d.mapErr(err, ErrConflict))
	}
	return nil
}

// Gift is one item of the gift catalog.
type Gift struct {
	ID         string
	Name       string
	PriceCoins int64
	Icon       string
	Effect     string // banner or fullscreen
	Enabled    bool
	SortOrder  int
}

var giftID = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)

func (g Gift) validate() error {
	switch {
	case !giftID.MatchString(g.ID):
		return fmt.Errorf("%w: gift id %q: 1 to 32 of a-z, 0-9, _ and -", ErrInvalid, g.ID)
	case g.Name == "" || utf8.RuneCountInString(g.Name) > 40:
		return fmt.Errorf("%w: gift name: 1 to 40 characters", ErrInvalid)
	case g.PriceCoins < 1 || g.PriceCoins > 1<<40:
		return fmt.Errorf("%w: gift price: 1 to %d coins", ErrInvalid, int64(1<<40))
	case utf8.RuneCountInString(g.Icon) > 200:
		return fmt.Errorf("%w: gift icon: at most 200 characters", ErrInvalid)
	case g.Effect != "banner" && g.Effect != "fullscreen":
		return fmt.Errorf("%w: gift effect %q: banner or fullscreen", ErrInvalid, g.Effect)
	}
	return nil
}

// Gifts returns the catalog in display order; enabledOnly leaves out the
// gifts an admin switched off.
func (db *DB) Gifts(ctx context.Context, enabledOnly bool) ([]Gift, error) {
	q := "SELECT id, name, price_coins, icon, effect, enabled, sort_order FROM gifts"
	if enabledOnly {
		q += " WHERE enabled = TRUE"
	}
	rows, err := db.query(ctx, db.r, q+" ORDER BY sort_order, price_coins, id")
	if err != nil {
		return nil, fmt.Errorf("store: gifts: %w", err)
	}
	defer rows.Close()
	var out []Gift
	for rows.Next() {
		g, err := scanGift(rows)
		if err != nil {
			return nil, fmt.Errorf("store: gifts: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// GiftByID returns one gift of the catalog, enabled or not.
func (db *DB) GiftByID(ctx context.Context, id string) (Gift, error) {
	g, err := scanGift(db.queryRow(ctx, db.r, "SELECT id, name, price_coins, icon, effect, enabled, sort_order FROM gifts WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Gift{}, fmt.Errorf("store: gift %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Gift{}, fmt.Errorf("store: gift %q: %w", id, err)
	}
	return g, nil
}

// PutGift adds a gift or replaces the one with its id. A gift already sent
// stays in the ledger's records under its id, so gifts are switched off, not
// deleted.
func (db *DB) PutGift(ctx context.Context, g Gift) error {
	if err := g.validate(); err != nil {
		return fmt.Errorf("store: put gift: %w", err)
	}
	_, err := db.exec(ctx, db.w, `INSERT INTO gifts (id, name, price_coins, icon, effect, enabled, sort_order, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, price_coins = excluded.price_coins, icon = excluded.icon, effect = excluded.effect,
			enabled = excluded.enabled, sort_order = excluded.sort_order, updated_at = excluded.updated_at`,
		g.ID, g.Name, g.PriceCoins, g.Icon, g.Effect, g.Enabled, g.SortOrder, ms(db.now()))
	if err != nil {
		return fmt.Errorf("store: put gift %q: %w", g.ID, err)
	}
	return nil
}

func scanGift(s interface{ Scan(...any) error }) (Gift, error) {
	var g Gift
	err := s.Scan(&g.ID, &g.Name, &g.PriceCoins, &g.Icon, &g.Effect, &g.Enabled, &g.SortOrder)
	return g, err
}
