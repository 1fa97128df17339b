package room

import (
	"encoding/json"
	"log/slog"
	"time"
)

// Bus publishes a message on a subject; *nats.Conn satisfies it. Publish is
// asynchronous and at most once: a message is lost if the bus is down.
type Bus interface {
	Publish(subject string, data []byte) error
}

// Lifecycle turns stage changes into `system` messages in their room, so chat,
// lobbies and other nodes hear that a room went live or a co-host joined.
type Lifecycle struct {
	Bus Bus
	Log *slog.Logger
	Now func() time.Time
}

// SystemBody is the body of a `system` message.
type SystemBody struct {
	Event    string `json:"event"` // live_started, live_ended, cohost_joined, cohost_left
	Identity string `json:"identity,omitempty"`
}

func (l *Lifecycle) RoomStarted(room string) { l.emit(room, SystemBody{Event: "live_started"}) }
func (l *Lifecycle) RoomEnded(room string)   { l.emit(room, SystemBody{Event: "live_ended"}) }
func (l *Lifecycle) PublisherJoined(room, identity string) {
	l.emit(room, SystemBody{Event: "cohost_joined", Identity: identity})
}
func (l *Lifecycle) PublisherLeft(room, identity string) {
	l.emit(room, SystemBody{Event: "cohost_left", Identity: identity})
}

func (l *Lifecycle) emit(room string, body SystemBody) {
	l.send(Subject(ID(room)), room, "system", body, body.Event)
}

// send publishes a message of type typ with body on subject; what names it
// in the log when it is lost.
func (l *Lifecycle) send(subject, room, typ string, body any, what string) {
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	t := now()
	b, _ := json.Marshal(body)
	env, _ := json.Marshal(Envelope{V: 1, Type: typ, ID: NewMessageID(t), Room: ID(room), TS: t.UnixMilli(), Body: b})
	if err := l.Bus.Publish(subject, env); err != nil && l.Log != nil {
		l.Log.Warn("room event not published", "room", room, "event", what, "err", err)
	}
}

// PresenceBody is the body of a `presence` message: the room's viewers now.
type PresenceBody struct {
	Viewers int `json:"viewers"`
}

// Presence tells a room how many viewers it has; sent every few seconds by the
// node hosting the room, on the room's live subject.
func (l *Lifecycle) Presence(room string, viewers int) {
	l.send(LiveSubject(ID(room)), room, "presence", PresenceBody{Viewers: viewers}, "presence")
}

// SpeakerBody is the body of a `speaker` message: the co-host speaking now.
type SpeakerBody struct {
	Identity string `json:"identity"`
}

// ActiveSpeaker tells a room which of its co-hosts speaks, on the room's
// live subject (a moment's news, kept in no history).
func (l *Lifecycle) ActiveSpeaker(room, identity string) {
	l.send(LiveSubject(ID(room)), room, "speaker", SpeakerBody{Identity: identity}, "speaker")
}
