package app

import (
	"context"
	"time"

	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/room/hub"
	"github.com/onair-live/onair/room/natsbus"
	"github.com/onair-live/onair/store"
)

// interaction puts the room plane's parts behind the edge's one interface:
// posting goes through Chat onto NATS, receiving through the node's relay and
// hub, history from the relay (memory while the node has sessions in the
// room, else JetStream).
type interaction struct {
	chat  *room.Chat
	relay *natsbus.Relay
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
	return i.relay.History(ctx, id, after)
}

// restrictions reads room bans from the system of record.
type restrictions struct{ db *store.DB }

func (r restrictions) Restricted(ctx context.Context, id room.ID, userID string) (time.Time, string, bool, error) {
	b, ok, err := r.db.ActiveRoomBan(ctx, string(id), userID, time.Now())
	return b.Until, b.Reason, ok, err
}

// chatRules reads a room's chat rules and the user's standing from the store,
// in one query.
type chatRules struct{ db *store.DB }

func (c chatRules) ChatRules(ctx context.Context, id room.ID, userID string) (room.ChatRules, error) {
	s, err := c.db.ChatStanding(ctx, string(id), userID)
	if err != nil || !s.RoomExists {
		return room.ChatRules{}, err // a room with no record has no rules
	}
	r := s.Room
	return room.ChatRules{
		Staff:       userID == r.OwnerID || s.Role.AtLeast(store.RoleAdmin) || s.Moderator,
		SlowSeconds: r.SlowModeSeconds, FollowersOnly: r.FollowersOnly, Following: s.Follows,
		MinAge: time.Duration(r.MinAccountAgeMinutes) * time.Minute, AccountAge: time.Since(s.CreatedAt),
	}, nil
}

// messages is private messaging: sending through room.DMs, live delivery
// through the relay, the rest straight from the store.
type messages struct {
	*store.DB
	dms   *room.DMs
	relay *natsbus.Relay
}

func (m messages) Send(ctx context.Context, from, to room.Sender, text string) (room.Envelope, error) {
	return m.dms.Send(ctx, from, to, text)
}

func (m messages) NotifyRead(ctx context.Context, reader, other room.Sender) error {
	return m.dms.Read(ctx, reader, other)
}

func (m messages) JoinUser(userID, session string, sink hub.Sink, onGone func(error)) (func(), error) {
	return m.relay.JoinUser(userID, session, sink, onGone)
}

// dmStore adapts the store to room.DMStore.
type dmStore struct{ db *store.DB }

func (d dmStore) SaveDM(ctx context.Context, fromID, toID, body string) (string, time.Time, error) {
	m, err := d.db.SendDM(ctx, fromID, toID, body)
	return m.ID, m.At, err
}
