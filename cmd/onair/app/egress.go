package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/onair-live/onair/media/egress"
	"github.com/onair-live/onair/media/ffmpeg"
	"github.com/onair-live/onair/signaling"
	"github.com/onair-live/onair/store"
)

// newEgress builds the media jobs of live rooms (HLS, snapshots, restreams)
// and hooks them to the stage; it returns what the edge serves of them.
// Without ffmpeg in PATH the node runs without them (and says so); an ffmpeg
// the configuration names but that is not there is an error.
func (a *App) newEgress(cfg Config, log *slog.Logger) (signaling.Egress, error) {
	tools, err := ffmpeg.Find(cfg.Media)
	if err != nil {
		if cfg.Media == (ffmpeg.Config{}) {
			log.Warn("HLS, snapshots and restreams are off", "err", err)
			return nil, nil
		}
		return nil, fmt.Errorf("egress: %w", err)
	}
	recs := &recordings{}
	sup, err := egress.New(cfg.Egress.Config, cfg.Data, egress.Deps{Tools: tools, Taps: a.sfu, Targets: restreamStore{a.db}, Recordings: recs, Log: log})
	if err != nil {
		return nil, err
	}
	*recs = *newRecordings(cfg, a.db, tools, sup, log)
	a.egress, a.stage.egress, a.stage.recordings, a.recordings = sup, sup, recs, recs
	return sup, nil
}

// restreamStore keeps media/egress's restream targets in the system of record.
type restreamStore struct{ db *store.DB }

func fromTargetRecord(r store.RestreamTarget) egress.Target {
	return egress.Target{ID: r.ID, Room: r.RoomID, Name: r.Name, URL: r.URL, Key: r.StreamKey, Enabled: r.Enabled, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func (s restreamStore) RestreamTargets(ctx context.Context, room string) ([]egress.Target, error) {
	recs, err := s.db.RestreamTargets(ctx, room)
	if err != nil {
		return nil, err
	}
	out := make([]egress.Target, 0, len(recs))
	for _, r := range recs {
		out = append(out, fromTargetRecord(r))
	}
	return out, nil
}

func (s restreamStore) CreateRestreamTarget(ctx context.Context, t egress.Target, max int) (egress.Target, error) {
	r, err := s.db.CreateRestreamTarget(ctx, store.RestreamTarget{RoomID: t.Room, Name: t.Name, URL: t.URL, StreamKey: t.Key, Enabled: t.Enabled}, max)
	if errors.Is(err, store.ErrConflict) {
		return egress.Target{}, fmt.Errorf("%w: a room may have at most %d; remove one first", egress.ErrTooManyTargets, max)
	}
	if err != nil {
		return egress.Target{}, err
	}
	return fromTargetRecord(r), nil
}

func (s restreamStore) UpdateRestreamTarget(ctx context.Context, room, id string, p egress.TargetPatch) (egress.Target, error) {
	r, err := s.db.UpdateRestreamTarget(ctx, room, id, store.RestreamPatch{Name: p.Name, URL: p.URL, StreamKey: p.Key, Enabled: p.Enabled})
	if err != nil {
		return egress.Target{}, err
	}
	return fromTargetRecord(r), nil
}

func (s restreamStore) DeleteRestreamTarget(ctx context.Context, room, id string) error {
	return s.db.DeleteRestreamTarget(ctx, room, id)
}
