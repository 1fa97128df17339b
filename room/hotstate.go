package room

import (
	"context"
	"time"
)

// LiveRoom is a directory entry: a room that is live now and the node hosting it.
type LiveRoom struct {
	ID        ID        `json:"id"`
	Node      string    `json:"node"`
	StartedAt time.Time `json:"started_at"`
}

// Presence counts a room's viewers across nodes. Each node reports the sessions it
// hosts; counts from a node that stops renewing disappear after the TTL it gave,
// so a dead node's viewers are not counted forever.
type Presence interface {
	// Join records a viewer session on a node. Joining twice is one viewer.
	Join(ctx context.Context, room ID, node, session string) error
	// Leave removes it; leaving an unknown session is not an error.
	Leave(ctx context.Context, room ID, node, session string) error
	// Renew keeps every session of the node alive for ttl more.
	Renew(ctx context.Context, node string, ttl time.Duration) error
	// Count is the room's viewers on all live nodes.
	Count(ctx context.Context, room ID) (int, error)
}

// Directory lists the rooms that are live now. Entries expire after their TTL
// unless renewed, so a room whose node died leaves the directory by itself.
type Directory interface {
	SetLive(ctx context.Context, r LiveRoom, ttl time.Duration) error
	Remove(ctx context.Context, room ID) error
	List(ctx context.Context) ([]LiveRoom, error)
}

// Limiter is a token bucket per key shared by all nodes: rate tokens per second,
// up to burst. Allow takes one token, or says how long until one is free.
type Limiter interface {
	Allow(ctx context.Context, key string, rate float64, burst int) (ok bool, retryAfter time.Duration, err error)
}
