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
	hub *hub.Hub

	mu    sync.Mutex          // guards rooms; never held across a hub call
	rooms map[string]*roomSub // by hub key: "room:<id>" or "user:<id>"
}

type roomSub struct {
	sessions int
	subs     []*nats.Subscription
}

// NewRelay relays into h over nc.
func NewRelay(nc *nats.Conn, h *hub.Hub) *Relay {
	return &Relay{nc: nc, hub: h, rooms: map[string]*roomSub{}}
}

// Join adds a session to the room, subscribing the node first if it is the
// room's first local session. leave undoes it.
func (r *Relay) Join(id room.ID, session string, sink hub.Sink, onGone func(error)) (leave func(), err error) {
	return r.join("room:"+string(id), []string{room.Subject(id), room.LiveSubject(id)}, session, sink, onGone)
}

// JoinUser adds a session to a user's own channel: private messages and
// notifications on the user's subject.
func (r *Relay) JoinUser(userID, session string, sink hub.Sink, onGone func(error)) (leave func(), err error) {
	return r.join("user:"+userID, []string{room.UserSubject(userID)}, session, sink, onGone)
}

func (r *Relay) join(key string, subjects []string, session string, sink hub.Sink, onGone func(error)) (leave func(), err error) {
	r.mu.Lock()
	rs := r.rooms[key]
	if rs == nil {
		rs = &roomSub{}
		for _, subj := range subjects {
			sub, err := r.nc.Subscribe(subj, func(m *nats.Msg) { r.hub.Publish(key, m.Data) })
			if err != nil {
				for _, s := range rs.subs {
					_ = s.Unsubscribe()
				}
				r.mu.Unlock()
				return nil, fmt.Errorf("natsbus: subscribe %s: %w", subj, err)
			}
			rs.subs = append(rs.subs, sub)
		}
		r.rooms[key] = rs
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

// History returns the room's recent messages, oldest first, after the message
// with id after (empty for all): a reconnecting client passes the last id it
// saw and gets only what it missed. Message ids are ULIDs, so they sort by time.
// It reads the stream through one short-lived consumer that it deletes, so joins
// never pile up consumers on the server.
func History(ctx context.Context, js jetstream.JetStream, id room.ID, after string) ([][]byte, error) {
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
