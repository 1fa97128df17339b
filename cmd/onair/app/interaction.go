package app

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/room/hub"
	"github.com/onair-live/onair/room/natsbus"
	"github.com/onair-live/onair/store"
)

// interaction puts the room plane's parts behind the edge's one interface:
// posting goes through Chat onto NATS, receiving through the node's relay and
// hub, history from JetStream.
type interaction struct {
	chat  *room.Chat
	relay *natsbus.Relay
	js    jetstream.JetStream
}

func (i interaction) Post(ctx context.Context, id room.ID, from *room.Sender, in room.Inbound) (room.Envelope, error) {
	return i.chat.Post(ctx, id, from, in)
}

func (i interaction) Delete(ctx context.Context, id room.ID, by *room.Sender, messageID string) (room.Envelope, error) {
	return i.chat.Delete(ctx, id, by, messageID)
}

func (i interaction) Join(id room.ID, session string, sink hub.Sink, onGone func(error)) (func(), error) {
	return i.relay.Join(id, session, sink, onGone)
}

func (i interaction) History(ctx context.Context, id room.ID, after string) ([][]byte, error) {
	return natsbus.History(ctx, i.js, id, after)
}

// restrictions reads room bans from the system of record.
type restrictions struct{ db *store.DB }

func (r restrictions) Restricted(ctx context.Context, id room.ID, userID string) (time.Time, string, bool, error) {
	b, ok, err := r.db.ActiveRoomBan(ctx, string(id), userID, time.Now())
	return b.Until, b.Reason, ok, err
}
