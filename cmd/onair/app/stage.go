package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/sfu"
)

// stage turns the media plane's stage events into room events on the bus, the
// shared live-room directory and viewer presence. Calls arrive in order per room
// (sfu.Observer); each write is bounded so a slow Redis cannot stall the SFU for long.
type stage struct {
	events   *room.Lifecycle
	presence room.Presence
	dir      room.Directory
	node     string
	ttl      time.Duration
	log      *slog.Logger
}

var _ sfu.Observer = (*stage)(nil)

func (s *stage) do(what string, f func(ctx context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := f(ctx); err != nil {
		s.log.Warn("hot state write failed", "what", what, "err", err)
	}
}

func (s *stage) RoomStarted(id string) {
	s.events.RoomStarted(id)
	s.do("directory set", func(ctx context.Context) error {
		return s.dir.SetLive(ctx, room.LiveRoom{ID: room.ID(id), Node: s.node, StartedAt: time.Now().UTC()}, s.ttl)
	})
}

func (s *stage) RoomEnded(id string) {
	s.events.RoomEnded(id)
	s.do("directory remove", func(ctx context.Context) error { return s.dir.Remove(ctx, room.ID(id)) })
}

func (s *stage) PublisherJoined(id, identity string) { s.events.PublisherJoined(id, identity) }
func (s *stage) PublisherLeft(id, identity string)   { s.events.PublisherLeft(id, identity) }

func (s *stage) SubscriberJoined(id, session string) {
	s.do("presence join", func(ctx context.Context) error { return s.presence.Join(ctx, room.ID(id), s.node, session) })
}

func (s *stage) SubscriberLeft(id, session string) {
	s.do("presence leave", func(ctx context.Context) error { return s.presence.Leave(ctx, room.ID(id), s.node, session) })
}

// renew keeps this node's presence and directory entries alive until ctx ends;
// if the node dies they expire after ttl.
func (s *stage) renew(ctx context.Context, media *sfu.SFU) {
	t := time.NewTicker(s.ttl / 3)
	defer t.Stop()
	for {
		s.do("presence renew", func(ctx context.Context) error { return s.presence.Renew(ctx, s.node, s.ttl) })
		for _, r := range media.Rooms() {
			s.do("directory renew", func(ctx context.Context) error {
				return s.dir.SetLive(ctx, room.LiveRoom{ID: room.ID(r.ID), Node: s.node, StartedAt: r.StartedAt}, s.ttl)
			})
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
