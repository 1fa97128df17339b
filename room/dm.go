package room

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrBlockedByUser: the recipient does not take messages from the sender.
var ErrBlockedByUser = errors.New("room: this user does not accept your messages")

// DMStore keeps private messages (the system of record).
type DMStore interface {
	// SaveDM stores a message; it fails with an error wrapping a block when the
	// recipient blocks the sender (isBlocked tells).
	SaveDM(ctx context.Context, fromID, toID, body string) (id string, at time.Time, err error)
}

// DMs sends private messages: stored first, then delivered live to every session
// of both users on any node (their user subjects).
type DMs struct {
	Store   DMStore
	Bus     Bus
	Limiter Limiter
	// IsBlocked recognises the store's "blocked" error.
	IsBlocked func(error) bool
}

// UserSubject carries a user's private messages and notifications.
func UserSubject(userID string) string { return "onair.user." + userID }

// DMBody is the body of a `dm` envelope.
type DMBody struct {
	To   Sender `json:"to"`
	Text string `json:"text"`
}

// Send stores and delivers a private message from one user to another.
func (d *DMs) Send(ctx context.Context, from, to Sender, text string) (Envelope, error) {
	text = strings.TrimSpace(text)
	switch n := utf8.RuneCountInString(text); {
	case n == 0:
		return Envelope{}, ErrEmpty
	case n > 1000:
		return Envelope{}, fmt.Errorf("%w: %d characters, the limit is 1000", ErrTooLong, n)
	}
	if d.Limiter != nil {
		ok, retry, err := d.Limiter.Allow(ctx, "dm:"+from.ID, 2, 10)
		if err != nil {
			return Envelope{}, err
		}
		if !ok {
			return Envelope{}, &SlowDownError{Wait: retry}
		}
	}
	id, at, err := d.Store.SaveDM(ctx, from.ID, to.ID, text)
	if err != nil {
		if d.IsBlocked != nil && d.IsBlocked(err) {
			return Envelope{}, ErrBlockedByUser
		}
		return Envelope{}, err
	}
	body, _ := json.Marshal(DMBody{To: to, Text: text})
	env := Envelope{V: 1, Type: "dm", ID: id, From: &from, TS: at.UnixMilli(), Body: body}
	data, _ := json.Marshal(env)
	for _, u := range []string{to.ID, from.ID} { // the sender's other tabs too
		if err := d.Bus.Publish(UserSubject(u), data); err != nil {
			return env, fmt.Errorf("room: deliver dm: %w", err)
		}
	}
	return env, nil
}

// ReadBody is the body of a `dm_read` envelope: the sender of the envelope
// read every message With sent them.
type ReadBody struct {
	With Sender `json:"with"`
}

// Read tells both users' sessions that reader has read what other sent: the
// other user's pages show it as read, the reader's other tabs clear the unread
// count. Marking the messages read in the store is the caller's.
func (d *DMs) Read(_ context.Context, reader, other Sender) error {
	body, _ := json.Marshal(ReadBody{With: other})
	now := time.Now()
	data, _ := json.Marshal(Envelope{V: 1, Type: "dm_read", ID: NewMessageID(now), From: &reader, TS: now.UnixMilli(), Body: body})
	for _, u := range []string{other.ID, reader.ID} {
		if err := d.Bus.Publish(UserSubject(u), data); err != nil {
			return fmt.Errorf("room: deliver dm_read: %w", err)
		}
	}
	return nil
}
