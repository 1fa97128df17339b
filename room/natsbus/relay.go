package natsbus

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/room/hub"
)

// Relay subscribes this node to a room's subject while it has local sessions
// in the room: a message is published once and every node fans it out locally.
type Relay struct {
	nc  *nats.Conn
	js  jetstream.JetStream
	hub *hub.Hub

	mu    sync.Mutex          // guards rooms; never held across a hub call
	rooms map[string]*roomSub // by hub key: "room:<id>" or "user:<id>"
}

type roomSub struct {
	sessions int
	subs     []*nats.Subscription
	hist     *ring // the room's history; nil for a user's channel
}

// NewRelay relays into h over nc; js holds the rooms' history (stream ROOMS).
func NewRelay(nc *nats.Conn, js jetstream.JetStream, h *hub.Hub) *Relay {
	return &Relay{nc: nc, js: js, hub: h, rooms: map[string]*roomSub{}}
}

// Join adds a session to the room, subscribing the node first if it is the
// room's first local session (and loading the room's history once). leave
// undoes it.
func (r *Relay) Join(id room.ID, session string, sink hub.Sink, onGone func(error)) (leave func(), err error) {
	return r.join("room:"+string(id), []subject{{room.Subject(id), true}, {room.LiveSubject(id), false}}, session, sink, onGone, func(h *ring) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.loaded(readStream(ctx, r.js, id, ""))
	})
}

// JoinUser adds a session to a user's own channel: private messages and
// notifications on the user's subject.
func (r *Relay) JoinUser(userID, session string, sink hub.Sink, onGone func(error)) (leave func(), err error) {
	return r.join("user:"+userID, []subject{{room.UserSubject(userID), false}}, session, sink, onGone, nil)
}

// History returns the room's recent messages, oldest first, after the message
// with id after (empty for all): a reconnecting client passes the last id it
// saw and gets only what it missed. Message ids are ULIDs, so they sort by
// time. While the node has sessions in the room it answers from memory;
// otherwise it reads the stream.
func (r *Relay) History(ctx context.Context, id room.ID, after string) ([][]byte, error) {
	r.mu.Lock()
	var h *ring
	if rs := r.rooms["room:"+string(id)]; rs != nil {
		h = rs.hist
	}
	r.mu.Unlock()
	if h != nil {
		out, ok, err := h.since(ctx, after, time.Now())
		if ok || err != nil {
			return out, err
		}
	}
	return readStream(ctx, r.js, id, after)
}

// subject is one subscription of a hub key; history marks the room's
// history subject, whose messages the ring keeps.
type subject struct {
	name    string
	history bool
}

func (r *Relay) join(key string, subjects []subject, session string, sink hub.Sink, onGone func(error), load func(*ring)) (leave func(), err error) {
	r.mu.Lock()
	rs := r.rooms[key]
	if rs == nil {
		rs = &roomSub{}
		if load != nil {
			rs.hist = newRing()
		}
		for _, subj := range subjects {
			h := rs.hist
			if !subj.history {
				h = nil
			}
			sub, err := r.nc.Subscribe(subj.name, func(m *nats.Msg) {
				if h != nil {
					h.add(m.Data)
				}
				r.hub.Publish(key, m.Data)
			})
			if err != nil {
				for _, s := range rs.subs {
					_ = s.Unsubscribe()
				}
				r.mu.Unlock()
				return nil, fmt.Errorf("natsbus: subscribe %s: %w", subj.name, err)
			}
			rs.subs = append(rs.subs, sub)
		}
		r.rooms[key] = rs
		if load != nil {
			// Subscribed first, so nothing falls between what the stream
			// holds and what arrives live.
			go load(rs.hist)
		}
	}
	rs.sessions++
	r.mu.Unlock()

	s := r.hub.Join(key, session, sink, onGone)
	var once sync.Once
	return func() {
		once.Do(func() {
			s.Leave()
			r.mu.Lock()
			defer r.mu.Unlock()
			if rs.sessions--; rs.sessions == 0 {
				for _, sub := range rs.subs {
					_ = sub.Unsubscribe()
				}
				delete(r.rooms, key)
			}
		})
	}, nil
}

// readStream reads a room's history from the stream through one short-lived
// consumer that it deletes, so reads never pile up consumers on the server.
func readStream(ctx context.Context, js jetstream.JetStream, id room.ID, after string) ([][]byte, error) {
	stream, err := js.Stream(ctx, "ROOMS")
	if err != nil {
		return nil, fmt.Errorf("natsbus: history %s: %w", id, err)
	}
	cons, err := stream.CreateConsumer(ctx, jetstream.ConsumerConfig{
		FilterSubject: room.Subject(id), DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy: jetstream.AckNonePolicy, MemoryStorage: true, InactiveThreshold: 10 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("natsbus: history %s: %w", id, err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = stream.DeleteConsumer(dctx, cons.CachedInfo().Name)
	}()
	n := int(cons.CachedInfo().NumPending)
	if n == 0 {
		return nil, nil
	}
	batch, err := cons.Fetch(n, jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		return nil, fmt.Errorf("natsbus: history %s: %w", id, err)
	}
	var out [][]byte
	for m := range batch.Messages() {
		if after == "" || envelopeID(m.Data()) > after {
			out = append(out, m.Data())
		}
	}
	return out, batch.Error()
}
