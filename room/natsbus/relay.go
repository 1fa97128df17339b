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

	mu    sync.Mutex // guards rooms; never held across a hub or NATS call that blocks on I/O
	rooms map[room.ID]*roomSub
}

type roomSub struct {
	sessions   int
	sub, likes *nats.Subscription
}

// NewRelay relays into h over nc.
func NewRelay(nc *nats.Conn, h *hub.Hub) *Relay {
	return &Relay{nc: nc, hub: h, rooms: map[room.ID]*roomSub{}}
}

// Join adds a session to the room, subscribing the node first if it is the
// room's first local session. leave undoes it.
func (r *Relay) Join(id room.ID, session string, sink hub.Sink, onGone func(error)) (leave func(), err error) {
	r.mu.Lock()
	rs := r.rooms[id]
	if rs == nil {
		deliver := func(m *nats.Msg) { r.hub.Publish(string(id), m.Data) }
		sub, err := r.nc.Subscribe(room.Subject(id), deliver)
		if err != nil {
			r.mu.Unlock()
			return nil, fmt.Errorf("natsbus: subscribe %s: %w", id, err)
		}
		likes, err := r.nc.Subscribe(room.LikeSubject(id), deliver)
		if err != nil {
			_ = sub.Unsubscribe()
			r.mu.Unlock()
			return nil, fmt.Errorf("natsbus: subscribe %s: %w", id, err)
		}
		rs = &roomSub{sub: sub, likes: likes}
		r.rooms[id] = rs
	}
	rs.sessions++
	r.mu.Unlock()

	s := r.hub.Join(string(id), session, sink, onGone)
	var once sync.Once
	return func() {
		once.Do(func() {
			s.Leave()
			r.mu.Lock()
			defer r.mu.Unlock()
			if rs.sessions--; rs.sessions == 0 {
				_ = rs.sub.Unsubscribe()
				_ = rs.likes.Unsubscribe()
				delete(r.rooms, id)
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
