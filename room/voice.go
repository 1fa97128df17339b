package room

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Voice messages: the clip is uploaded first (POST /api/voice, media/voice
// converts and stores it); the message then carries only its id, in a room
// ({"type":"voice","body":{"id"}}) or a private conversation
// (DMs.SendVoice). The server fills in the clip's length from its record and
// checks that the sender recorded it for this room or this person.

// VoiceBody is the body of a `voice` envelope, and the voice of a DM.
type VoiceBody struct {
	ID         string `json:"id"`
	DurationMS int64  `json:"duration_ms"`
}

// VoiceClip is what the room plane knows of a recorded clip.
type VoiceClip struct {
	OwnerID  string
	Room     ID     // the room it was recorded for, or ""
	ToUserID string // the user it was recorded for (a private message), or ""
	Duration time.Duration
}

// Clips finds voice clips (media/voice's records, through the app).
type Clips interface {
	// VoiceClip returns the clip with id; found is false when there is none.
	VoiceClip(ctx context.Context, id string) (c VoiceClip, found bool, err error)
}

// clip reads a voice message's body and finds its clip, which from must
// have recorded; the scope is the caller's to check.
func clip(ctx context.Context, clips Clips, from Sender, raw json.RawMessage) (VoiceClip, VoiceBody, error) {
	if clips == nil {
		return VoiceClip{}, VoiceBody{}, fmt.Errorf("%w \"voice\": voice messages are off on this server", ErrUnknownType)
	}
	var b VoiceBody
	if err := json.Unmarshal(raw, &b); err != nil || b.ID == "" || len(b.ID) > 64 {
		return VoiceClip{}, VoiceBody{}, fmt.Errorf("%w: body must be {\"id\": \"<voice clip id>\"}", ErrBadMessage)
	}
	return findClip(ctx, clips, from, b.ID)
}

func findClip(ctx context.Context, clips Clips, from Sender, id string) (VoiceClip, VoiceBody, error) {
	c, found, err := clips.VoiceClip(ctx, id)
	switch {
	case err != nil:
		return VoiceClip{}, VoiceBody{}, err
	case !found:
		return VoiceClip{}, VoiceBody{}, fmt.Errorf("%w: no voice clip %q; upload it first", ErrBadMessage, id)
	case c.OwnerID != from.ID:
		return VoiceClip{}, VoiceBody{}, fmt.Errorf("%w: voice clip %q is someone else's", ErrBadMessage, id)
	}
	return c, VoiceBody{ID: id, DurationMS: c.Duration.Milliseconds()}, nil
}

// postVoice publishes a `voice` message, under the room's rules like chat.
// The rate limit and bans were applied by Post.
func (c *Chat) postVoice(ctx context.Context, id ID, from *Sender, raw json.RawMessage) (Envelope, error) {
	v, body, err := clip(ctx, c.Clips, *from, raw)
	if err != nil {
		return Envelope{}, err
	}
	if v.Room != id {
		return Envelope{}, fmt.Errorf("%w: voice clip %q was recorded for another conversation; upload it to this room", ErrBadMessage, body.ID)
	}
	if err := c.applyRules(ctx, id, from); err != nil {
		return Envelope{}, err
	}
	t := c.now()
	// The same clip twice is a duplicate; a NUL cannot start a chat text.
	if c.isDuplicate(string(id)+"\x00"+from.ID, "\x00voice:"+body.ID, t, c.Config.withDefaults().DuplicateWindow) {
		return Envelope{}, ErrDuplicate
	}
	b, _ := json.Marshal(body)
	return c.publish(id, "voice", from, b, t)
}

// voiceMarker starts the stored body of a voice DM, followed by its
// VoiceBody as JSON. Send refuses text that starts with it, so no typed
// message can pass for a voice message; the record separator (not white
// space, so trimming keeps it) is a character PostgreSQL's TEXT stores,
// unlike NUL.
const voiceMarker = "\x1evoice:"

func encodeVoiceDM(b VoiceBody) string {
	j, _ := json.Marshal(b)
	return voiceMarker + string(j)
}

// DecodeDM reads a stored DM body: a text message's text, or a voice
// message's clip.
func DecodeDM(stored string) (text string, voice *VoiceBody) {
	if rest, ok := strings.CutPrefix(stored, voiceMarker); ok {
		var b VoiceBody
		if json.Unmarshal([]byte(rest), &b) == nil && b.ID != "" {
			return "", &b
		}
	}
	return stored, nil
}

// SendVoice stores and delivers a private voice message: a clip from
// recorded for to.
func (d *DMs) SendVoice(ctx context.Context, from, to Sender, clipID string) (Envelope, error) {
	if d.Clips == nil {
		return Envelope{}, fmt.Errorf("%w \"voice\": voice messages are off on this server", ErrUnknownType)
	}
	if err := d.allow(ctx, from); err != nil {
		return Envelope{}, err
	}
	v, body, err := findClip(ctx, d.Clips, from, clipID)
	if err != nil {
		return Envelope{}, err
	}
	if v.ToUserID != to.ID {
		return Envelope{}, fmt.Errorf("%w: voice clip %q was recorded for another conversation", ErrBadMessage, clipID)
	}
	return d.deliver(ctx, from, to, encodeVoiceDM(body), DMBody{To: to, Voice: &body})
}
