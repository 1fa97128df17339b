package memstore

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/onair-live/onair/room"
)

// directory is the state behind room.Directory; mu guards everything in it.
type directory struct {
	mu    sync.Mutex
	live  map[room.ID]entry
	sweep sweeper
}

type entry struct {
	r        room.LiveRoom
	deadline time.Time
}

func (d *directory) init() { d.live = make(map[room.ID]entry) }

func (d *directory) sweepAll(now time.Time) {
	for id, e := range d.live {
		if !e.deadline.After(now) {
			delete(d.live, id)
		}
	}
}

// SetLive implements room.Directory. It replaces the room's entry, if any.
func (s *Store) SetLive(ctx context.Context, r room.LiveRoom, ttl time.Duration) error {
	if err := begin(ctx, r.ID); err != nil {
		return err
	}
	if err := checkTTL(ttl); err != nil {
		return err
	}
	r.StartedAt = r.StartedAt.UTC()
	d := &s.dir
	d.mu.Lock()
	defer d.mu.Unlock()
	now := s.now()
	if d.sweep.due(now, s.sweepEvery) {
		d.sweepAll(now)
	}
	d.live[r.ID] = entry{r: r, deadline: now.Add(ttl)}
	return nil
}

// Remove implements room.Directory; removing a room that is not listed is not an error.
func (s *Store) Remove(ctx context.Context, id room.ID) error {
	if err := begin(ctx, id); err != nil {
		return err
	}
	d := &s.dir
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.live, id)
	return nil
}

// List implements room.Directory: the live rooms sorted by ID.
func (s *Store) List(ctx context.Context) ([]room.LiveRoom, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d := &s.dir
	d.mu.Lock()
	now := s.now()
	d.sweepAll(now)
	out := make([]room.LiveRoom, 0, len(d.live))
	for _, e := range d.live {
		out = append(out, e.r)
	}
	d.mu.Unlock()
	slices.SortFunc(out, func(a, b room.LiveRoom) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return out, nil
}
