package room

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// LikeBody is the body of a `like` message. From a client, count is how many
// taps it sends at once (1–50); from the server, how many likes the room got
// since the last like message, summed over everyone, a few times per second.
type LikeBody struct {
	Count int `json:"count"`
}

// Likes sums taps per room and publishes them as one `like` message per room
// every interval, never one message per tap. Each node publishes its own sums;
// clients add them up.
type Likes struct {
	Bus      Bus
	Limiter  Limiter
	Interval time.Duration // default 250 ms
	Now      func() time.Time

	mu      sync.Mutex
	pending map[ID]int
}

// maxTaps caps one like message's count.
const maxTaps = 50

// Add counts a user's taps; it is rate-limited per user per room.
func (l *Likes) Add(ctx context.Context, id ID, from *Sender, body json.RawMessage) error {
	if from == nil {
		return ErrNotAllowed
	}
	var b LikeBody
	if err := json.Unmarshal(body, &b); err != nil || b.Count < 1 || b.Count > maxTaps {
		return fmt.Errorf("%w: a like is {\"count\": 1 to %d}", ErrBadMessage, maxTaps)
	}
	if l.Limiter != nil {
		ok, retry, err := l.Limiter.Allow(ctx, "like:"+string(id)+":"+from.ID, 10, 20)
		if err != nil {
			return err
		}
		if !ok {
			return &SlowDownError{Wait: retry}
		}
	}
	l.mu.Lock()
	if l.pending == nil {
		l.pending = map[ID]int{}
	}
	l.pending[id] += b.Count
	l.mu.Unlock()
	return nil
}

// Flush publishes each room's sum since the last flush.
func (l *Likes) Flush() {
	l.mu.Lock()
	pending := l.pending
	l.pending = nil
	l.mu.Unlock()
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	for id, n := range pending {
		t := now()
		body, _ := json.Marshal(LikeBody{Count: n})
		env, _ := json.Marshal(Envelope{V: 1, Type: "like", ID: NewMessageID(t), Room: id, TS: t.UnixMilli(), Body: body})
		_ = l.Bus.Publish(LiveSubject(id), env)
	}
}

// LiveSubject carries a room's moment-to-moment events (like sums, viewer
// counts) outside its history stream: replaying them later means nothing, and
// they would push chat out of the last 50.
func LiveSubject(id ID) string { return "onair.live." + string(id) }

// Run flushes every interval until ctx ends.
func (l *Likes) Run(ctx context.Context) {
	iv := l.Interval
	if iv == 0 {
		iv = 250 * time.Millisecond
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			l.Flush()
			return
		case <-t.C:
			l.Flush()
		}
	}
}
