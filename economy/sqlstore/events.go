package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/onair-live/onair/economy"
)

// Events returns up to limit committed outbox events whose subject starts
// with prefix, in commit order, after the transaction after ("" for the
// first). The outbox keeps every event, published or not, so it is the
// ledger's own record of what happened: leaderboards are rebuilt from it.
func (s *Store) Events(ctx context.Context, prefix, after string, limit int) ([]economy.OutboxEvent, error) {
	if strings.ContainsAny(prefix, `%_\`) {
		return nil, fmt.Errorf("sqlstore: events: %w: subject prefix %q", economy.ErrInvalid, prefix)
	}
	rows, err := s.db.Reader().QueryContext(ctx, s.db.Rebind(
		"SELECT txn_id, subject, payload, created_at FROM ledger_outbox WHERE txn_id > ? AND subject LIKE ? ORDER BY txn_id LIMIT ?"),
		after, prefix+"%", limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: events: %w", err)
	}
	var out []economy.OutboxEvent
	err = scanAll(rows, func() error {
		var e economy.OutboxEvent
		var at int64
		if err := rows.Scan(&e.TxnID, &e.Subject, &e.Payload, &at); err != nil {
			return err
		}
		e.CreatedAt = fromMS(at)
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: events: %w", err)
	}
	return out, nil
}
