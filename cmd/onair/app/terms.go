package app

import (
	"context"

	econterms "github.com/onair-live/onair/economy/settings"
	"github.com/onair-live/onair/store"
)

// terms reads and writes the economy's terms in the system of record.
type terms struct{ db *store.DB }

func (t terms) Settings(ctx context.Context) (econterms.Settings, error) {
	doc, err := t.db.EconomySettings(ctx)
	if err != nil {
		return econterms.Settings{}, err
	}
	return econterms.Parse(doc)
}

func (t terms) Commission(ctx context.Context, streamerID string) (int, bool, error) {
	return t.db.StreamerCommission(ctx, streamerID)
}
