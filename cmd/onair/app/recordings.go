package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/onair-live/onair/media/egress"
	"github.com/onair-live/onair/media/ffmpeg"
	"github.com/onair-live/onair/store"
)

// recordings decides which broadcasts are recorded, keeps their records in
// the system of record (egress writes the files), serves them to the edge
// (signaling.Recordings), and runs the cleanup: recordings past retention
// are deleted, and recordings a dead node left half-written are finalized.
type recordings struct {
	db     *store.DB
	tools  ffmpeg.Tools
	root   string // <data>/recordings
	record bool   // the platform default (egress.record)
	keep   time.Duration
	live   func(id string) bool // being written on this node
	now    func() time.Time
	stale  time.Duration // a recording's folder untouched this long is no node's
	every  time.Duration // cleanup period
	log    *slog.Logger
}

func newRecordings(cfg Config, db *store.DB, tools ffmpeg.Tools, sup *egress.Supervisor, log *slog.Logger) *recordings {
	c := cfg.Egress
	if c.RecordingRetention == 0 {
		c.RecordingRetention = egress.DefaultConfig().RecordingRetention
	}
	return &recordings{db: db, tools: tools, root: filepath.Join(cfg.Data, "recordings"), record: c.Record, keep: c.RecordingRetention,
		live: sup.Recording, now: time.Now, stale: 2 * time.Minute, every: time.Hour, log: log.With("component", "recordings")}
}

// start decides whether broadcast b of room is recorded (the streamer's
// switch, else egress.record) and, if so, records that it is: it returns the
// recording's id, or "" when the broadcast is not recorded.
func (r *recordings) start(ctx context.Context, b store.Broadcast) (string, error) {
	on, err := r.db.RoomRecord(ctx, b.RoomID)
	if err != nil {
		return "", err
	}
	if on == nil && !r.record || on != nil && !*on {
		return "", nil
	}
	rec, err := r.db.CreateRecording(ctx, store.Recording{ID: b.ID, RoomID: b.RoomID, StartedAt: b.StartedAt, Path: egress.RecordingDir(r.root, b.ID)})
	if err != nil {
		return "", err
	}
	return rec.ID, nil
}

// RecordingEnded keeps how a recording ended (egress.Recordings).
func (r *recordings) RecordingEnded(ctx context.Context, id string, ended time.Time, rec egress.Recorded, failed error) {
	end := store.RecordingEnd{EndedAt: ended, Status: store.RecordingReady, DurationMS: rec.Duration.Milliseconds(), Bytes: rec.Size}
	if failed != nil {
		end = store.RecordingEnd{EndedAt: ended, Status: store.RecordingFailed, Reason: strings.TrimPrefix(failed.Error(), "egress: ")}
	}
	if _, err := r.db.FinishRecording(ctx, id, end); err != nil {
		r.log.Error("recording's end not kept", "recording", id, "err", err)
	}
}

// RoomRecordings lists a room's recordings, newest first.
func (r *recordings) RoomRecordings(ctx context.Context, room string) ([]store.Recording, error) {
	return r.db.RoomRecordings(ctx, room, 0)
}

// Recording is one recording, or store.ErrNotFound.
func (r *recordings) Recording(ctx context.Context, id string) (store.Recording, error) {
	return r.db.Recording(ctx, id)
}

// DeleteRecording removes a recording's files, then its record.
func (r *recordings) DeleteRecording(ctx context.Context, id string) error {
	rec, err := r.db.Recording(ctx, id)
	if err != nil {
		return err
	}
	return r.remove(ctx, rec)
}

func (r *recordings) remove(ctx context.Context, rec store.Recording) error {
	if err := r.removeFiles(rec); err != nil {
		return err
	}
	return r.db.DeleteRecording(ctx, rec.ID)
}

// removeFiles deletes a recording's folder, which must be under root (a
// record is never trusted to name any other path).
func (r *recordings) removeFiles(rec store.Recording) error {
	dir := filepath.Clean(rec.Path)
	if filepath.Dir(dir) != filepath.Clean(r.root) || filepath.Base(dir) != rec.ID {
		return fmt.Errorf("recording %s: its folder %q is not %s", rec.ID, rec.Path, egress.RecordingDir(r.root, rec.ID))
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("recording %s: %w", rec.ID, err)
	}
	return nil
}

// RoomRecord is the streamer's switch for their room (nil: no choice) and
// whether its next broadcast is recorded.
func (r *recordings) RoomRecord(ctx context.Context, room string) (*bool, bool, error) {
	on, err := r.db.RoomRecord(ctx, room)
	if err != nil {
		return nil, false, err
	}
	return on, on == nil && r.record || on != nil && *on, nil
}

// SetRoomRecord sets the streamer's switch; nil goes back to the default.
func (r *recordings) SetRoomRecord(ctx context.Context, room string, on *bool) error {
	return r.db.SetRoomRecord(ctx, room, on)
}

// RecordsByDefault is egress.record.
func (r *recordings) RecordsByDefault() bool { return r.record }

// run cleans up at once and then every period until ctx ends.
func (r *recordings) run(ctx context.Context) {
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		r.cleanup(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// cleanup finalizes recordings no node writes any more, then deletes those
// past retention, files and records.
func (r *recordings) cleanup(ctx context.Context) {
	inProgress, err := r.db.RecordingsInProgress(ctx)
	if err != nil && ctx.Err() == nil {
		r.log.Error("recordings in progress unreadable", "err", err)
	}
	for _, rec := range inProgress {
		last := r.lastWrite(rec)
		if r.live(rec.ID) || r.now().Sub(last) <= r.stale {
			continue // a live part grows every keyframe
		}
		res, err := egress.Finalize(ctx, r.tools, rec.Path)
		if ctx.Err() != nil {
			return
		}
		r.log.Warn("recording left by a node that stopped, finalized", "recording", rec.ID, "err", err)
		r.RecordingEnded(ctx, rec.ID, last, res, err)
	}
	old, err := r.db.RecordingsStartedBefore(ctx, r.now().Add(-r.keep), 0)
	if err != nil && ctx.Err() == nil {
		r.log.Error("old recordings unreadable", "err", err)
	}
	for _, rec := range old {
		if rec.Status == store.RecordingRecording {
			continue // finalized first, above, once it is no node's
		}
		if err := r.remove(ctx, rec); err != nil && !errors.Is(err, store.ErrNotFound) {
			r.log.Error("old recording not deleted", "recording", rec.ID, "err", err)
			continue
		}
		r.log.Info("recording past retention deleted", "recording", rec.ID, "room", rec.RoomID, "started", rec.StartedAt)
	}
}

// lastWrite is when a recording's files last changed (its start if it has
// none): nothing wrote them for a while, so no node is recording it.
func (r *recordings) lastWrite(rec store.Recording) time.Time {
	last := rec.StartedAt
	entries, _ := os.ReadDir(rec.Path)
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.ModTime().After(last) {
			last = info.ModTime()
		}
	}
	return last
}
