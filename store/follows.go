package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Follow makes followerID follow followeeID. Following again changes nothing;
// following yourself is ErrConflict; an unknown user is ErrNotFound.
func (db *DB) Follow(ctx context.Context, followerID, followeeID string) error {
	if followerID == followeeID {
		return fmt.Errorf("store: follow %q: %w: a user cannot follow themselves", followeeID, ErrConflict)
	}
	now := db.nowMS()
	id, err := newID(now)
	if err != nil {
		return fmt.Errorf("store: follow: %w", err)
	}
	_, err = db.exec(ctx, db.w, `INSERT INTO follows (follower_id, followee_id, id, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (follower_id, followee_id) DO NOTHING`, followerID, followeeID, id, ms(now))
	if err != nil {
		return fmt.Errorf("store: %q follows %q: %w", followerID, followeeID, db.d.mapErr(err, ErrConflict))
	}
	return nil
}

// Unfollow ends the follow if there is one.
func (db *DB) Unfollow(ctx context.Context, followerID, followeeID string) error {
	if _, err := db.exec(ctx, db.w, "DELETE FROM follows WHERE follower_id = ? AND followee_id = ?", followerID, followeeID); err != nil {
		return fmt.Errorf("store: %q unfollows %q: %w", followerID, followeeID, err)
	}
	return nil
}

// IsFollowing reports whether followerID follows followeeID.
func (db *DB) IsFollowing(ctx context.Context, followerID, followeeID string) (bool, error) {
	var one int
	err := db.queryRow(ctx, db.r, "SELECT 1 FROM follows WHERE follower_id = ? AND followee_id = ?", followerID, followeeID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: does %q follow %q: %w", followerID, followeeID, err)
	}
	return true, nil
}

// FollowerCount returns how many users follow userID.
func (db *DB) FollowerCount(ctx context.Context, userID string) (int, error) {
	var n int
	if err := db.queryRow(ctx, db.r, "SELECT COUNT(*) FROM follows WHERE followee_id = ?", userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: follower count of %q: %w", userID, err)
	}
	return n, nil
}

// Followers returns a page of the users who follow userID, the most recent
// follow first (follows of the same millisecond in a fixed but unspecified
// order: the follow's ULID decides). Pass after = "" for the first page and then the returned cursor
// (the follow's ULID); the cursor is "" after the last page. limit 0 means 50,
// the most is 500.
func (db *DB) Followers(ctx context.Context, userID string, after string, limit int) ([]User, string, error) {
	users, next, err := db.followPage(ctx, "follower_id", "followee_id", userID, after, limit)
	if err != nil {
		return nil, "", fmt.Errorf("store: followers of %q: %w", userID, err)
	}
	return users, next, nil
}

// Following returns a page of the users whom userID follows, the most recent
// follow first, paged like Followers.
func (db *DB) Following(ctx context.Context, userID string, after string, limit int) ([]User, string, error) {
	users, next, err := db.followPage(ctx, "followee_id", "follower_id", userID, after, limit)
	if err != nil {
		return nil, "", fmt.Errorf("store: followed by %q: %w", userID, err)
	}
	return users, next, nil
}

// followPage lists the users in column `show` of the follows whose column
// `match` is userID; both column names are constants of the callers.
func (db *DB) followPage(ctx context.Context, show, match, userID, after string, limit int) ([]User, string, error) {
	limit = clampLimit(limit)
	q := "SELECT " + userCols + ", f.id FROM follows f JOIN users u ON u.id = f." + show + " WHERE f." + match + " = ?"
	args := []any{userID}
	if after != "" {
		q += " AND f.id < ?"
		args = append(args, after)
	}
	q += " ORDER BY f.id DESC LIMIT ?"
	args = append(args, limit+1) // one more tells whether there is a next page
	rows, err := db.query(ctx, db.r, q, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var (
		users []User
		ids   []string
	)
	for rows.Next() {
		var fid string
		u, err := scanUser(rows, &fid)
		if err != nil {
			return nil, "", err
		}
		users = append(users, u)
		ids = append(ids, fid)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	if len(users) <= limit {
		return users, "", nil
	}
	return users[:limit], ids[limit-1], nil
}
