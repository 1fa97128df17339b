package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/onair-live/onair/media/ffmpeg"
	"github.com/onair-live/onair/media/voice"
	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/signaling"
	"github.com/onair-live/onair/store"
)

// newVoice builds voice messages: clips in <data>/voice, records in the
// store, and lets the room chat and private messages carry them. Without
// ffmpeg in PATH the node runs without voice messages (and says so); an
// ffmpeg the configuration names but that is not there is an error.
func newVoice(cfg Config, db *store.DB, log *slog.Logger, chat *room.Chat, dms *room.DMs) (signaling.Voice, error) {
	tools, err := ffmpeg.Find(cfg.Media)
	if err != nil {
		if cfg.Media == (ffmpeg.Config{}) {
			log.Warn("voice messages are off", "err", err)
			return nil, nil
		}
		return nil, fmt.Errorf("voice messages: %w", err)
	}
	svc, err := voice.New(cfg.Voice, tools, voiceStore{db}, cfg.Data, log)
	if err != nil {
		return nil, err
	}
	chat.Clips, dms.Clips = voiceClips{db}, voiceClips{db}
	return svc, nil
}

// voiceStore keeps media/voice's clip records in the system of record.
type voiceStore struct{ db *store.DB }

func (s voiceStore) SaveClip(ctx context.Context, c voice.Clip) (voice.Clip, error) {
	rec, err := s.db.CreateVoiceClip(ctx, store.VoiceClip{ID: c.ID, OwnerID: c.Owner, DurationMS: c.Duration.Milliseconds(),
		Bytes: c.Bytes, ScopeKind: string(c.Scope.Kind), ScopeID: c.Scope.ID})
	if err != nil {
		return voice.Clip{}, err
	}
	return fromRecord(rec), nil
}

func (s voiceStore) Clip(ctx context.Context, id string) (voice.Clip, error) {
	rec, err := s.db.VoiceClip(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return voice.Clip{}, fmt.Errorf("%w: %s", voice.ErrNotFound, id)
	}
	if err != nil {
		return voice.Clip{}, err
	}
	return fromRecord(rec), nil
}

func fromRecord(r store.VoiceClip) voice.Clip {
	return voice.Clip{ID: r.ID, Owner: r.OwnerID, Duration: time.Duration(r.DurationMS) * time.Millisecond, Bytes: r.Bytes,
		Scope: voice.Scope{Kind: voice.ScopeKind(r.ScopeKind), ID: r.ScopeID}, CreatedAt: r.CreatedAt}
}

// voiceClips lets the room plane check the clips that messages name.
type voiceClips struct{ db *store.DB }

func (v voiceClips) VoiceClip(ctx context.Context, id string) (room.VoiceClip, bool, error) {
	if !voice.ValidID(id) {
		return room.VoiceClip{}, false, nil
	}
	rec, err := v.db.VoiceClip(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return room.VoiceClip{}, false, nil
	}
	if err != nil {
		return room.VoiceClip{}, false, err
	}
	c := room.VoiceClip{OwnerID: rec.OwnerID, Duration: time.Duration(rec.DurationMS) * time.Millisecond}
	switch rec.ScopeKind {
	case store.VoiceScopeRoom:
		c.Room = room.ID(rec.ScopeID)
	case store.VoiceScopeDM:
		c.ToUserID = rec.ScopeID
	}
	return c, true, nil
}

// SendVoice sends a private voice message through room.DMs.
func (m messages) SendVoice(ctx context.Context, from, to room.Sender, clipID string) (room.Envelope, error) {
	return m.dms.SendVoice(ctx, from, to, clipID)
}
