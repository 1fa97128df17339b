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
	// Clips, when set, lets users send voice messages (SendVoice).
	Clips Clips
}

// UserSubject carries a user's private messages and notifications.
func UserSubject(userID string) string { return "onair.user." + userID }

// DMBody is the body of a `dm` envelope.
type DMBody struct {
	To    Sender     `json:"to"`
	Text  string     `json:"text"`
	Voice *VoiceBody `json:"voice,omitempty"` // a voice message (Text is empty)
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
	if strings.HasPrefix(text, voiceMarker) {
		return Envelope{}, fmt.Errorf("%w: a text may not start with a record separator", ErrBadMessage)
	}
	if err := d.allow(ctx, from); err != nil {
		return Envelope{}, err
	}
	return d.deliver(ctx, from, to, text, DMBody{To: to, Text: text})
}

// allow takes one of the sender's tokens for private messages.
func (d *DMs) allow(ctx context.Context, from Sender) error {
	if d.Limiter != nil {
		ok, retry, err := d.Limiter.Allow(ctx, "dm:"+from.ID, 2, 10)
		if err != nil {
			return err
		}
		if !ok {
			return &SlowDownError{Wait: retry}
		}
	}
	return nil
}

// deliver stores a message (stored is the body as kept) and sends body to
// every session of both users.
func (d *DMs) deliver(ctx context.Context, from, to Sender, stored string, body DMBody) (Envelope, error) {
	id, at, err := d.Store.SaveDM(ctx, from.ID, to.ID, stored)
	if err != nil {
		if d.IsBlocked != nil && d.IsBlocked(err) {
			return Envelope{}, ErrBlockedByUser
		}
		return Envelope{}, err
	}
	b, _ := json.Marshal(body)
	env := Envelope{V: 1, Type: "dm", ID: id, From: &from, TS: at.UnixMilli(), Body: b}
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
