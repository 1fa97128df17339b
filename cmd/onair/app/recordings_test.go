package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/onair-live/onair/media/egress"
	"github.com/onair-live/onair/media/ffmpeg"
	"github.com/onair-live/onair/store"
)

// The cleanup deletes recordings past retention (files and rows) as the
// injected clock sees them and keeps the others; a recording a dead node
// left half-written (parts, no replay.mp4, untouched for a while) is
// finalized to ready with its real duration; one still written on this
// node is left alone.
func TestRecordingsCleanup(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	db, err := store.Open(ctx, filepath.Join(data, "onair.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tools, err := ffmpeg.Find(ffmpeg.DefaultConfig())
	if err != nil {
		t.Fatalf("this test needs ffmpeg and ffprobe: %v", err)
	}
	if _, err := db.CreateUser(ctx, store.NewUser{Name: "keeper", Role: store.RoleStreamer}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	live := map[string]bool{}
	r := &recordings{db: db, tools: tools, root: filepath.Join(data, "recordings"), record: true, keep: 30 * 24 * time.Hour,
		live: func(id string) bool { return live[id] }, now: func() time.Time { return now }, stale: 2 * time.Minute, every: time.Hour,
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}

	// Broadcasts 40, 20 and 1 days old, finished; one crashed mid-way and
	// one live here, both from today.
	mk := func(age time.Duration, end bool) store.Recording {
		t.Helper()
		b, err := db.StartBroadcast(ctx, "keeper", now.Add(-age))
		if err != nil {
			t.Fatal(err)
		}
		id, err := r.start(ctx, b)
		if err != nil || id != b.ID {
			t.Fatalf("start recording: %q %v", id, err)
		}
		rec, _ := db.Recording(ctx, id)
		if err := os.MkdirAll(rec.Path, 0o755); err != nil {
			t.Fatal(err)
		}
		if end {
			if err := os.WriteFile(filepath.Join(rec.Path, egress.ReplayName), []byte("mp4"), 0o644); err != nil {
				t.Fatal(err)
			}
			r.RecordingEnded(ctx, id, now.Add(-age+time.Hour), egress.Recorded{Path: rec.Path, Duration: time.Hour, Size: 3}, nil)
			if err := db.EndBroadcast(ctx, id, now.Add(-age+time.Hour), 0, 0); err != nil {
				t.Fatal(err)
			}
		}
		return rec
	}
	old, mid, recent := mk(40*24*time.Hour, true), mk(20*24*time.Hour, true), mk(24*time.Hour, true)
	crashed := mk(10*time.Minute, false)
	// Its node wrote 3 s before it died, a few minutes ago.
	part := filepath.Join(crashed.Path, "part-1.mp4")
	if err := tools.RunFFmpeg(ctx, []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-t", "3", "-f", "lavfi", "-i",
		"testsrc2=s=320x240:r=30[out0];sine=r=48000[out1]", "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-c:a", "aac",
		"-f", "mp4", "-movflags", "+frag_keyframe+empty_moov+default_base_moof", part}); err != nil {
		t.Fatal(err)
	}
	wrote := now.Add(-5 * time.Minute)
	if err := os.Chtimes(part, wrote, wrote); err != nil {
		t.Fatal(err)
	}
	if err := db.EndBroadcast(ctx, crashed.ID, now, 0, 0); err != nil {
		t.Fatal(err)
	}
	// This one was started just now on this node.
	b, _ := db.StartBroadcast(ctx, "keeper", now)
	liveID, _ := r.start(ctx, b)
	live[liveID] = true

	r.cleanup(ctx)

	if _, err := db.Recording(ctx, old.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the 40-day-old recording's row: %v", err)
	}
	if _, err := os.Stat(old.Path); !os.IsNotExist(err) {
		t.Fatalf("the 40-day-old recording's folder: %v", err)
	}
	for _, keep := range []store.Recording{mid, recent} {
		if got, err := db.Recording(ctx, keep.ID); err != nil || got.Status != store.RecordingReady {
			t.Fatalf("kept recording %+v (%v)", got, err)
		}
		if _, err := os.Stat(filepath.Join(keep.Path, egress.ReplayName)); err != nil {
			t.Fatalf("kept recording's file: %v", err)
		}
	}
	got, err := db.Recording(ctx, crashed.ID)
	if err != nil || got.Status != store.RecordingReady || got.DurationMS < 2900 || got.DurationMS > 3100 || got.EndedAt == nil || !got.EndedAt.Equal(wrote) {
		t.Fatalf("the crashed recording %+v (%v): want ready, 3 s, ended when last written (%v)", got, err, wrote)
	}
	if got, _ := db.Recording(ctx, liveID); got.Status != store.RecordingRecording {
		t.Fatalf("the live recording %+v", got)
	}

	// 11 more days: the 20-day-old one goes too.
	now = now.Add(11 * 24 * time.Hour)
	r.cleanup(ctx)
	if _, err := db.Recording(ctx, mid.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the 31-day-old recording's row: %v", err)
	}
	if _, err := db.Recording(ctx, recent.ID); err != nil {
		t.Fatalf("the 12-day-old recording: %v", err)
	}

	// A row naming a folder outside <data>/recordings is never followed.
	if err := r.removeFiles(store.Recording{ID: recent.ID, Path: data}); err == nil {
		t.Fatal("removeFiles followed a path outside the recordings folder")
	}
	if _, err := os.Stat(filepath.Join(data, "onair.db")); err != nil {
		t.Fatal(err)
	}
}

// Whether a broadcast is recorded: the streamer's switch, else the
// platform's default.
func TestRecordingDecision(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "onair.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateUser(ctx, store.NewUser{Name: "chooser", Role: store.RoleStreamer}); err != nil {
		t.Fatal(err)
	}
	on, off := true, false
	for _, c := range []struct {
		platform bool
		room     *bool
		want     bool
	}{{false, nil, false}, {true, nil, true}, {false, &on, true}, {true, &off, false}} {
		r := &recordings{db: db, root: "/data/recordings", record: c.platform}
		if err := db.SetRoomRecord(ctx, "chooser", c.room); err != nil {
			t.Fatal(err)
		}
		b, err := db.StartBroadcast(ctx, "chooser", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		id, err := r.start(ctx, b)
		if err != nil || (id != "") != c.want {
			t.Fatalf("platform %v, room %v: recording %q (%v), want recorded %v", c.platform, c.room, id, err, c.want)
		}
		if _, eff, _ := r.RoomRecord(ctx, "chooser"); eff != c.want {
			t.Fatalf("platform %v, room %v: effective %v", c.platform, c.room, eff)
		}
	}
}
