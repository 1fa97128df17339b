package natsbus

import (
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/onair-live/onair/room"
)

// kickSubject carries "remove this user from this room" to every node, which
// closes the user's sessions it holds there.
const kickSubject = "onair.kick"

type kick struct {
	Room   room.ID `json:"room"`
	UserID string  `json:"user_id"`
}

// Kicks sends and receives kicks over NATS.
type Kicks struct{ nc *nats.Conn }

// NewKicks uses nc.
func NewKicks(nc *nats.Conn) *Kicks { return &Kicks{nc: nc} }

// Kick asks every node, this one included, to close userID's sessions in id.
func (k *Kicks) Kick(id room.ID, userID string) error {
	b, _ := json.Marshal(kick{Room: id, UserID: userID})
	if err := k.nc.Publish(kickSubject, b); err != nil {
		return fmt.Errorf("natsbus: kick: %w", err)
	}
	return k.nc.Flush()
}

// Listen calls f for every kick until the returned stop is called.
func (k *Kicks) Listen(f func(id room.ID, userID string)) (stop func(), err error) {
	sub, err := k.nc.Subscribe(kickSubject, func(m *nats.Msg) {
		var kk kick
		if json.Unmarshal(m.Data, &kk) == nil && kk.UserID != "" {
			f(kk.Room, kk.UserID)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("natsbus: kicks: %w", err)
	}
	return func() { _ = sub.Unsubscribe() }, nil
}
