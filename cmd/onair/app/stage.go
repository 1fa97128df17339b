package app

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/sfu"
	"github.com/onair-live/onair/store"
)

// stage turns the media plane's stage events into room events on the bus, the
// shared live-room directory and viewer presence. Calls arrive in order per room
// (sfu.Observer); each write is bounded so a slow Redis cannot stall the SFU for long.
type stage struct {
	events     *room.Lifecycle
	presence   room.Presence
	dir        room.Directory
	broadcasts broadcastLog
	node       string
	ttl        time.Duration
	every      time.Duration // renewal and viewer-count messages
	log        *slog.Logger
	// egress, when set, hears first of rooms starting and ending (media
	// jobs); a broadcast that recordings says is recorded starts recorded.
	egress interface {
		RoomStarted(room string)
		RoomStartedRecording(room, recording string)
		RoomEnded(room string)
	}
	recordings interface {
		start(ctx context.Context, b store.Broadcast) (string, error)
	}

	mu   sync.Mutex
	live map[string]*onAir
}

// broadcastLog records each broadcast in the system of record (*store.DB).
type broadcastLog interface {
	StartBroadcast(ctx context.Context, roomID string, at time.Time) (store.Broadcast, error)
	EndBroadcast(ctx context.Context, id string, at time.Time, peak, total int) error
}

// onAir is one broadcast on this node: its record and its audience so far.
type onAir struct {
	id                   string
	viewers, peak, total int
}

func (s *stage) audience(id string, f func(*onAir)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.live[id]; a != nil {
		f(a)
	}
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
	var recording string
	s.do("broadcast start", func(ctx context.Context) error {
		b, err := s.broadcasts.StartBroadcast(ctx, id, time.Now())
		if errors.Is(err, store.ErrNotFound) {
			return nil // a dev-mode room with no record
		}
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.live[id] = &onAir{id: b.ID}
		s.mu.Unlock()
		if s.egress != nil && s.recordings != nil {
			recording, err = s.recordings.start(ctx, b)
		}
		return err
	})
	switch {
	case s.egress == nil:
	case recording != "":
		s.egress.RoomStartedRecording(id, recording)
	default:
		s.egress.RoomStarted(id)
	}
	s.events.RoomStarted(id)
	s.do("directory set", func(ctx context.Context) error {
		return s.dir.SetLive(ctx, room.LiveRoom{ID: room.ID(id), Node: s.node, StartedAt: time.Now().UTC()}, s.ttl)
	})
}

func (s *stage) RoomEnded(id string) {
	if s.egress != nil {
		s.egress.RoomEnded(id)
	}
	s.events.RoomEnded(id)
	s.mu.Lock()
	a := s.live[id]
	delete(s.live, id)
	s.mu.Unlock()
	if a != nil {
		s.do("broadcast end", func(ctx context.Context) error {
			return s.broadcasts.EndBroadcast(ctx, a.id, time.Now(), a.peak, a.total)
		})
	}
	s.do("directory remove", func(ctx context.Context) error { return s.dir.Remove(ctx, room.ID(id)) })
}

func (s *stage) PublisherJoined(id, identity string) { s.events.PublisherJoined(id, identity) }

// ActiveSpeaker tells the room which co-host speaks (sfu.SpeakerObserver).
func (s *stage) ActiveSpeaker(id, identity string) { s.events.ActiveSpeaker(id, identity) }
func (s *stage) PublisherLeft(id, identity string) { s.events.PublisherLeft(id, identity) }

func (s *stage) SubscriberJoined(id, session string) {
	s.audience(id, func(a *onAir) {
		a.viewers++
		a.total++
		a.peak = max(a.peak, a.viewers)
	})
	s.do("presence join", func(ctx context.Context) error { return s.presence.Join(ctx, room.ID(id), s.node, session) })
}

func (s *stage) SubscriberLeft(id, session string) {
	s.audience(id, func(a *onAir) { a.viewers-- })
	s.do("presence leave", func(ctx context.Context) error { return s.presence.Leave(ctx, room.ID(id), s.node, session) })
}

// renew keeps this node's presence and directory entries alive until ctx ends;
// if the node dies they expire after ttl.
func (s *stage) renew(ctx context.Context, media *sfu.SFU) {
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		s.do("presence renew", func(ctx context.Context) error { return s.presence.Renew(ctx, s.node, s.ttl) })
		for _, r := range media.Rooms() {
			s.do("directory renew", func(ctx context.Context) error {
				return s.dir.SetLive(ctx, room.LiveRoom{ID: room.ID(r.ID), Node: s.node, StartedAt: r.StartedAt}, s.ttl)
			})
			s.do("presence count", func(ctx context.Context) error {
				n, err := s.presence.Count(ctx, room.ID(r.ID))
				if err == nil {
					s.events.Presence(r.ID, n)
				}
				return err
			})
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
