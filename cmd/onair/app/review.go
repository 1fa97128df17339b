package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/store"
)

// review keeps the messages the word filter holds in the system of record and
// publishes the approved ones through the chat.
type review struct {
	db   *store.DB
	chat *room.Chat
}

// Hold keeps a held message; a room with no record (dev mode publishes to any
// room name) has no moderators to review it, so the message is only refused.
func (r review) Hold(ctx context.Context, id room.ID, from room.Sender, kind string, body room.ChatBody) error {
	b, _ := json.Marshal(body)
	_, err := r.db.HoldMessage(ctx, store.HeldMessage{RoomID: string(id), UserID: from.ID, UserName: from.Name, Kind: kind, Body: string(b)})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

func (r review) Held(ctx context.Context, roomID string, limit int) ([]store.HeldMessage, error) {
	return r.db.HeldMessages(ctx, roomID, limit)
}

// Decide records the decision first, so two moderators cannot both publish a
// message; an approval whose publication fails goes back to the queue.
func (r review) Decide(ctx context.Context, roomID, id string, approve bool, byID string) (store.HeldMessage, error) {
	status := store.HeldRejected
	if approve {
		status = store.HeldApproved
	}
	m, err := r.db.DecideHeld(ctx, roomID, id, status, byID)
	if err != nil || !approve {
		return m, err
	}
	var body room.ChatBody
	if err := json.Unmarshal([]byte(m.Body), &body); err != nil {
		return m, fmt.Errorf("held message %s: %w", m.ID, err)
	}
	if _, err := r.chat.Release(ctx, room.ID(roomID), room.Sender{ID: m.UserID, Name: m.UserName}, m.Kind, body); err != nil {
		if _, rerr := r.db.DecideHeld(context.WithoutCancel(ctx), roomID, id, store.HeldPending, byID); rerr != nil {
			return m, errors.Join(err, rerr)
		}
		return m, err
	}
	return m, nil
}
