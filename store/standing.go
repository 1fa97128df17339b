package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ChatStanding is what a room's chat rules need to know about one user there.
type ChatStanding struct {
	Room       Room // ID, OwnerID and the chat rules (other fields unset)
	Role       Role
	CreatedAt  time.Time // the user's account
	Moderator  bool
	Follows    bool // the user follows the room's streamer
	RoomExists bool
}

// ChatStanding reads a room's rules and the user's standing in it in one
// query: every chat message asks. A room with no record has RoomExists false;
// an unknown user is ErrNotFound.
func (db *DB) ChatStanding(ctx context.Context, roomID, userID string) (ChatStanding, error) {
	var s ChatStanding
	var created int64
	var owner, role sql.NullString
	var slow, minAge sql.NullInt64
	var followersOnly, mod, follows sql.NullBool
	err := db.queryRow(ctx, db.r, `SELECT u.role, u.created_at, r.owner_id, r.slow_mode_seconds, r.followers_only, r.min_account_age_minutes,
			EXISTS (SELECT 1 FROM room_moderators m WHERE m.room_id = r.id AND m.user_id = u.id),
			EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = u.id AND f.followee_id = r.owner_id)
		FROM users u LEFT JOIN rooms r ON r.id = ?
		WHERE u.id = ?`, roomID, userID).
		Scan(&role, &created, &owner, &slow, &followersOnly, &minAge, &mod, &follows)
	if errors.Is(err, sql.ErrNoRows) {
		return ChatStanding{}, fmt.Errorf("store: chat standing of %q: %w", userID, ErrNotFound)
	}
	if err != nil {
		return ChatStanding{}, fmt.Errorf("store: chat standing of %q in %q: %w", userID, roomID, err)
	}
	s.Role, s.CreatedAt = Role(role.String), fromMS(created)
	if owner.Valid {
		s.RoomExists = true
		s.Room = Room{ID: roomID, OwnerID: owner.String, SlowModeSeconds: int(slow.Int64), FollowersOnly: followersOnly.Bool, MinAccountAgeMinutes: int(minAge.Int64)}
		s.Moderator, s.Follows = mod.Bool, follows.Bool
	}
	return s, nil
}
