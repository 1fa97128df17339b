package memstore

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/onair-live/onair/room"
)

var errEmpty = errors.New("memstore: node and session must not be empty")

// presence is the state behind room.Presence; mu guards everything in it.
type presence struct {
	mu    sync.Mutex
	nodes map[string]*lease               // node -> its lease and sessions
	rooms map[room.ID]map[string]struct{} // room -> nodes with sessions there
	sweep sweeper
}

// lease is one node's deadline and the sessions it hosts, by room.
type lease struct {
	deadline time.Time
	rooms    map[room.ID]map[string]struct{}
}

func (p *presence) init() {
	p.nodes = make(map[string]*lease)
	p.rooms = make(map[room.ID]map[string]struct{})
}

// live returns the node's lease if it has not lapsed; a lapsed one is dropped.
func (p *presence) live(node string, now time.Time) *lease {
	l := p.nodes[node]
	if l != nil && !l.deadline.After(now) {
		p.drop(node, l)
		l = nil
	}
	return l
}

// leaseFor returns node's live lease, starting one of ttl when it has none; it
// also sweeps expired leases when a sweep is due. p.mu must be held.
func (p *presence) leaseFor(node string, now time.Time, sweepEvery, ttl time.Duration) *lease {
	if p.sweep.due(now, sweepEvery) {
		p.sweepAll(now)
	}
	l := p.live(node, now)
	if l == nil {
		l = &lease{deadline: now.Add(ttl), rooms: make(map[room.ID]map[string]struct{})}
		p.nodes[node] = l
	}
	return l
}

// drop forgets a node and every session it hosted.
func (p *presence) drop(node string, l *lease) {
	for id := range l.rooms {
		p.unindex(id, node)
	}
	delete(p.nodes, node)
}

func (p *presence) unindex(id room.ID, node string) {
	delete(p.rooms[id], node)
	if len(p.rooms[id]) == 0 {
		delete(p.rooms, id)
	}
}

func (p *presence) sweepAll(now time.Time) {
	for node, l := range p.nodes {
		if !l.deadline.After(now) {
			p.drop(node, l)
		}
	}
}

// Join implements room.Presence.
func (s *Store) Join(ctx context.Context, id room.ID, node, session string) error {
	if err := begin(ctx, id); err != nil {
		return err
	}
	if node == "" || session == "" {
		return errEmpty
	}
	p := &s.pres
	p.mu.Lock()
	defer p.mu.Unlock()
	now := s.now()
	l := p.leaseFor(node, now, s.sweepEvery, s.leaseTTL)
	sessions := l.rooms[id]
	if sessions == nil {
		sessions = make(map[string]struct{})
		l.rooms[id] = sessions
	}
	sessions[session] = struct{}{}
	nodes := p.rooms[id]
	if nodes == nil {
		nodes = make(map[string]struct{})
		p.rooms[id] = nodes
	}
	nodes[node] = struct{}{}
	return nil
}

// Leave implements room.Presence.
func (s *Store) Leave(ctx context.Context, id room.ID, node, session string) error {
	if err := begin(ctx, id); err != nil {
		return err
	}
	if node == "" || session == "" {
		return errEmpty
	}
	p := &s.pres
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.live(node, s.now())
	if l == nil {
		return nil
	}
	sessions := l.rooms[id]
	delete(sessions, session)
	if len(sessions) == 0 {
		delete(l.rooms, id)
		p.unindex(id, node)
	}
	return nil
}

// Renew implements room.Presence.
func (s *Store) Renew(ctx context.Context, node string, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if node == "" {
		return errEmpty
	}
	if err := checkTTL(ttl); err != nil {
		return err
	}
	p := &s.pres
	p.mu.Lock()
	defer p.mu.Unlock()
	now := s.now()
	l := p.leaseFor(node, now, s.sweepEvery, ttl)
	l.deadline = now.Add(ttl)
	return nil
}

// Count implements room.Presence. It costs O(nodes in the room).
func (s *Store) Count(ctx context.Context, id room.ID) (int, error) {
	if err := begin(ctx, id); err != nil {
		return 0, err
	}
	p := &s.pres
	p.mu.Lock()
	defer p.mu.Unlock()
	now := s.now()
	n := 0
	for node := range p.rooms[id] {
		if l := p.live(node, now); l != nil {
			n += len(l.rooms[id])
		}
	}
	return n, nil
}
