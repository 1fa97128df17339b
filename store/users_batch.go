package store

import (
	"context"
	"fmt"
	"strings"
)

// UsersByID returns the users with these ids, keyed by id, in one query per 500
// ids (the lobby shows many streamers at once); unknown ids are absent.
func (db *DB) UsersByID(ctx context.Context, ids []string) (map[string]User, error) {
	out := make(map[string]User, len(ids))
	for _, chunk := range idBatches(ids) {
		q := "SELECT " + userCols + " FROM users u WHERE u.id IN (?" + strings.Repeat(", ?", len(chunk)-1) + ")"
		rows, err := db.query(ctx, db.r, q, chunk...)
		if err != nil {
			return nil, fmt.Errorf("store: users by id: %w", err)
		}
		for rows.Next() {
			u, err := scanUser(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: users by id: %w", err)
			}
			out[u.ID] = u
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("store: users by id: %w", err)
		}
	}
	return out, nil
}

// idBatches removes repeats from ids and cuts them into query arguments of at
// most roomsBatch, so an IN list stays within every engine's parameter limit.
func idBatches(ids []string) [][]any {
	seen := make(map[string]struct{}, len(ids))
	uniq := make([]any, 0, len(ids))
	for _, id := range ids {
		if _, ok := seen[id]; !ok {
			seen[id] = struct{}{}
			uniq = append(uniq, id)
		}
	}
	var out [][]any
	for len(uniq) > 0 {
		n := min(len(uniq), roomsBatch)
		out = append(out, uniq[:n])
		uniq = uniq[n:]
	}
	return out
}
