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
			return Envelope{}, fmt.Errorf("%w: wait %.1f s", ErrSlowDown, retry.Seconds())
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
