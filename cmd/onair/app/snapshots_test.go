package app

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/onair-live/onair/store"
)

// fakeLive is the archive's input: rooms live "on this node" and the paths
// of their snapshots.
type fakeLive struct {
	mu    sync.Mutex
	shots map[string]string // room → snapshot path ("" : none for that room)
}

func (f *fakeLive) LiveRooms() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for id := range f.shots {
		ids = append(ids, id)
	}
	return ids
}

func (f *fakeLive) Snapshot(room string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.shots[room]
	return p, p != ""
}

// writeSnapshot replaces path whole, as ffmpeg does, taken at `at`.
func writeSnapshot(t *testing.T, path string, body []byte, at time.Time) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, body, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(tmp, at, at); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// A live room's snapshot is copied whole under the time it was taken, once
// per version: an unchanged snapshot is not copied again, a new one is. A
// room with no picture yet, one without snapshots and one whose id is no
// room id are skipped.
func TestSnapshotArchiveKeepsEachVersionOnce(t *testing.T) {
	data := t.TempDir()
	live := t.TempDir()
	alpha := filepath.Join(live, "alpha.jpg")
	src := &fakeLive{shots: map[string]string{"alpha": alpha, "beta": filepath.Join(live, "not-yet.jpg"), "gamma": "", "../evil": alpha}}
	cfg := DefaultConfig()
	cfg.Data = data
	a := newSnapshotArchive(cfg, src, slog.New(slog.NewTextHandler(io.Discard, nil)))

	a.keepLatest() // nothing written yet
	if got := names(t, a.root); len(got) != 0 {
		t.Fatalf("archive before any snapshot: %v", got)
	}
	first := time.Date(2026, 5, 1, 12, 0, 0, 123_000_000, time.UTC)
	writeSnapshot(t, alpha, []byte("\xff\xd8first\xff\xd9"), first)
	a.keepLatest()
	a.keepLatest() // unchanged: not copied twice
	dir := filepath.Join(a.root, "alpha")
	want1 := strconv.FormatInt(first.UnixMilli(), 10) + ".jpg"
	if got := names(t, dir); !slices.Equal(got, []string{want1}) {
		t.Fatalf("after one version: %v, want [%s]", got, want1)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, want1)); !bytes.Equal(b, []byte("\xff\xd8first\xff\xd9")) {
		t.Fatalf("copy holds %q", b)
	}
	if got := names(t, a.root); !slices.Equal(got, []string{"alpha"}) {
		t.Fatalf("rooms archived: %v, want only alpha", got)
	}

	second := first.Add(10 * time.Second)
	writeSnapshot(t, alpha, []byte("\xff\xd8second\xff\xd9"), second)
	a.keepLatest()
	a.keepLatest()
	want2 := strconv.FormatInt(second.UnixMilli(), 10) + ".jpg"
	if got := names(t, dir); !slices.Equal(got, []string{want1, want2}) { // no temporary file left either
		t.Fatalf("after two versions: %v", got)
	}

	// The room ends: forgotten, so its next broadcast starts afresh.
	src.mu.Lock()
	delete(src.shots, "alpha")
	src.mu.Unlock()
	a.keepLatest()
	if _, ok := a.last["alpha"]; ok {
		t.Fatal("an ended room is still remembered")
	}

	// Listed newest first, a page at a time; served by name only.
	ctx := context.Background()
	list, err := a.ArchivedSnapshots(ctx, "alpha", time.Time{}, 10)
	if err != nil || len(list) != 2 || list[0].Name != want2 || list[1].Name != want1 || !list[0].TakenAt.Equal(second.Truncate(time.Millisecond)) ||
		list[0].Bytes != int64(len("\xff\xd8second\xff\xd9")) {
		t.Fatalf("list %+v (%v)", list, err)
	}
	if list, _ := a.ArchivedSnapshots(ctx, "alpha", time.Time{}, 1); len(list) != 1 || list[0].Name != want2 {
		t.Fatalf("first page of 1: %+v", list)
	}
	if list, _ := a.ArchivedSnapshots(ctx, "alpha", second, 10); len(list) != 1 || list[0].Name != want1 {
		t.Fatalf("before the second: %+v", list)
	}
	if list, err := a.ArchivedSnapshots(ctx, "nobody", time.Time{}, 10); err != nil || len(list) != 0 {
		t.Fatalf("a room with none: %+v %v", list, err)
	}
	if p, err := a.ArchivedSnapshot(ctx, "alpha", want1); err != nil || p != filepath.Join(dir, want1) {
		t.Fatalf("path of %s: %q %v", want1, p, err)
	}
	for _, c := range [][2]string{{"alpha", "1.jpg"}, {"alpha", "../alpha/" + want1}, {"alpha", ".keep-1"}, {"../alpha", want1}, {"alpha/..", want1}} {
		if p, err := a.ArchivedSnapshot(ctx, c[0], c[1]); err == nil {
			t.Errorf("ArchivedSnapshot(%q, %q) = %q", c[0], c[1], p)
		}
	}
	if _, err := a.ArchivedSnapshot(ctx, "alpha", "1.jpg"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a missing snapshot: %v, want store.ErrNotFound", err)
	}
}

// The sweep deletes snapshots past retention as the injected clock sees
// them, temporary files a stopped copy left an hour ago (not one being
// written), and the folders it leaves empty; it keeps everything else.
func TestSnapshotArchiveRetention(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Data = t.TempDir()
	a := newSnapshotArchive(cfg, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	now := time.Date(2026, 5, 8, 12, 0, 0, 0, time.UTC)
	a.now = func() time.Time { return now }
	if a.keep != 7*24*time.Hour {
		t.Fatalf("default retention %v", a.keep)
	}
	file := func(room, name string, mod time.Time) string {
		t.Helper()
		dir := filepath.Join(a.root, room)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("jpeg"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mod, mod); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ms := func(d time.Duration) string { return strconv.FormatInt(now.Add(-d).UnixMilli(), 10) + ".jpg" }
	old := ms(8 * 24 * time.Hour)
	recent, edge := ms(6*24*time.Hour), ms(7*24*time.Hour-time.Minute)
	file("kept", old, now)
	file("kept", recent, now)
	file("kept", edge, now)
	file("kept", "notes.txt", now.Add(-30*24*time.Hour)) // not ours: left alone
	file("kept", ".keep-stale", now.Add(-2*time.Hour))
	file("kept", ".keep-writing", now.Add(-time.Second))
	file("gone", ms(9*24*time.Hour), now)
	file("gone", ms(10*24*time.Hour), now)

	a.cleanup(context.Background())
	if got := names(t, filepath.Join(a.root, "kept")); !slices.Equal(got, slices.Sorted(slices.Values([]string{".keep-writing", recent, edge, "notes.txt"}))) {
		t.Fatalf("kept room after the sweep: %v", got)
	}
	if _, err := os.Stat(filepath.Join(a.root, "gone")); !os.IsNotExist(err) {
		t.Fatalf("a folder of old snapshots only is still there: %v", err)
	}

	// A day later the 6-day-old one is still kept, the other crossed 7 days.
	now = now.Add(24 * time.Hour)
	a.cleanup(context.Background())
	if got := names(t, filepath.Join(a.root, "kept")); !slices.Contains(got, recent) || slices.Contains(got, edge) {
		t.Fatalf("a day later: %v", got)
	}
}

// run copies on its own schedule until its context ends, then returns.
func TestSnapshotArchiveRuns(t *testing.T) {
	live := filepath.Join(t.TempDir(), "snap.jpg")
	writeSnapshot(t, live, []byte("\xff\xd8\xff\xd9"), time.Now())
	cfg := DefaultConfig()
	cfg.Data = t.TempDir()
	cfg.Egress.SnapshotKeepEvery = 10 * time.Millisecond
	a := newSnapshotArchive(cfg, &fakeLive{shots: map[string]string{"runner": live}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.run(ctx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(names(t, filepath.Join(a.root, "runner"))) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("run kept no snapshot in 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return after its context ended")
	}

	// Archiving off: run only sweeps.
	cfg.Egress.SnapshotKeepEvery = 0
	off := newSnapshotArchive(cfg, &fakeLive{shots: map[string]string{"other": live}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	off.run(ctx)
	if got := names(t, filepath.Join(off.root, "other")); len(got) != 0 {
		t.Fatalf("archiving off, yet kept %v", got)
	}
}
