package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/onair-live/onair/media/egress"
	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/sfu"
	"github.com/onair-live/onair/signaling"
	"github.com/onair-live/onair/store"
)

// liveSnapshots is what the snapshot archive copies from: the rooms live on
// this node and where each one's latest snapshot is.
type liveSnapshots interface {
	// LiveRooms are the rooms live on this node.
	LiveRooms() []string
	// Snapshot is the path of a live room's latest snapshot, which its
	// writer replaces whole (never rewrites in place); false when the room
	// has none (not live here, or snapshots are off). The file may not
	// exist yet.
	Snapshot(room string) (string, bool)
}

// nodeSnapshots are this node's: its SFU's rooms, the egress's pictures.
type nodeSnapshots struct {
	*egress.Supervisor
	sfu *sfu.SFU
}

func (n nodeSnapshots) LiveRooms() []string {
	rooms := n.sfu.Rooms()
	ids := make([]string, 0, len(rooms))
	for _, r := range rooms {
		ids = append(ids, r.ID)
	}
	return ids
}

// snapshotArchive keeps live rooms' snapshots for moderation review: every
// `every` it copies the latest snapshot of each room live on this node to
// <root>/<room>/<unix-ms>.jpg, named by when the picture was taken (its
// file's modification time), unless it is the one copied last; archived
// snapshots older than keep are deleted at start and every sweep. A copy is
// written to a temporary file and renamed, so a reader (or a node sharing
// the folder) sees a whole JPEG or none. It also serves the archive to the
// edge (signaling.SnapshotArchive), from any goroutine.
type snapshotArchive struct {
	root  string        // <data>/snapshots
	src   liveSnapshots // nil: this node takes no snapshots
	every time.Duration // 0: none are copied
	keep  time.Duration
	sweep time.Duration
	now   func() time.Time
	log   *slog.Logger

	// last is, per live room, the snapshot copied last; run's goroutine
	// alone uses it.
	last map[string]fileStamp
}

// fileStamp tells one version of a snapshot from the next (each is a new
// file renamed over the last).
type fileStamp struct {
	mod  time.Time
	size int64
}

const (
	archiveExt = ".jpg"
	archiveTmp = ".keep-" // temporary files: removed by the sweep when old
)

var _ signaling.SnapshotArchive = (*snapshotArchive)(nil)

func newSnapshotArchive(cfg Config, src liveSnapshots, log *slog.Logger) *snapshotArchive {
	return &snapshotArchive{root: filepath.Join(cfg.Data, "snapshots"), src: src, every: cfg.Egress.SnapshotKeepEvery,
		keep: cmp.Or(cfg.Egress.SnapshotRetention, DefaultEgressConfig().SnapshotRetention), sweep: time.Hour, now: time.Now,
		log: log.With("component", "snapshot-archive"), last: map[string]fileStamp{}}
}

// run sweeps at once and every sweep, and copies every `every`, until ctx
// ends.
func (a *snapshotArchive) run(ctx context.Context) {
	sweep := time.NewTicker(a.sweep)
	defer sweep.Stop()
	var copies <-chan time.Time
	if a.src != nil && a.every > 0 {
		t := time.NewTicker(a.every)
		defer t.Stop()
		copies = t.C
	}
	a.cleanup(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-copies:
			a.keepLatest()
		case <-sweep.C:
			a.cleanup(ctx)
		}
	}
}

// keepLatest copies each live room's snapshot if it changed since the last
// copy, and forgets rooms that ended.
func (a *snapshotArchive) keepLatest() {
	live := map[string]bool{}
	for _, id := range a.src.LiveRooms() {
		if _, err := room.ParseID(id); err != nil {
			continue // never a path of its own
		}
		live[id] = true
		path, ok := a.src.Snapshot(id)
		if !ok {
			continue
		}
		if err := a.keepOne(id, path); err != nil {
			a.log.Warn("snapshot not kept", "room", id, "err", err)
		}
	}
	for id := range a.last {
		if !live[id] {
			delete(a.last, id)
		}
	}
}

// keepOne copies room's snapshot at path into its folder, unless it is not
// written yet or is the one copied last.
func (a *snapshotArchive) keepOne(id, path string) error {
	src, err := os.Open(path) // this version, even if a newer one replaces it now
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer src.Close()
	info, err := src.Stat()
	if err != nil {
		return err
	}
	stamp := fileStamp{info.ModTime(), info.Size()}
	if prev, ok := a.last[id]; ok && prev.mod.Equal(stamp.mod) && prev.size == stamp.size {
		return nil
	}
	dir := filepath.Join(a.root, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, archiveTmp+"*")
	if err != nil {
		return err
	}
	_, err = io.Copy(tmp, src)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, strconv.FormatInt(stamp.mod.UnixMilli(), 10)+archiveExt))
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	a.last[id] = stamp
	return nil
}

// takenAt reads an archived snapshot's name: <unix-ms>.jpg.
func takenAt(name string) (time.Time, bool) {
	ms, ok := strings.CutSuffix(name, archiveExt)
	if !ok || ms == "" || strings.TrimLeft(ms, "0123456789") != "" {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(n), true
}

// cleanup deletes archived snapshots older than keep, temporary files a
// stopped copy left (after an hour, so no copy in progress on a node
// sharing the folder loses its file), and folders left empty.
func (a *snapshotArchive) cleanup(ctx context.Context) {
	rooms, err := os.ReadDir(a.root)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			a.log.Error("snapshot archive unreadable", "err", err)
		}
		return
	}
	now := a.now()
	cutoff, deleted := now.Add(-a.keep), 0
	for _, r := range rooms {
		if ctx.Err() != nil {
			return
		}
		if !r.IsDir() {
			continue
		}
		dir := filepath.Join(a.root, r.Name())
		files, err := os.ReadDir(dir)
		if err != nil {
			a.log.Warn("snapshot folder unreadable", "room", r.Name(), "err", err)
			continue
		}
		left := len(files)
		for _, f := range files {
			old := false
			if at, ok := takenAt(f.Name()); ok {
				old = at.Before(cutoff)
			} else if strings.HasPrefix(f.Name(), archiveTmp) {
				info, err := f.Info()
				old = err == nil && now.Sub(info.ModTime()) > time.Hour
			}
			if !old {
				continue
			}
			if err := os.Remove(filepath.Join(dir, f.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				a.log.Warn("old snapshot not deleted", "room", r.Name(), "file", f.Name(), "err", err)
				continue
			}
			left--
			deleted++
		}
		if left == 0 {
			_ = os.Remove(dir) // fails, harmlessly, if a copy just arrived
		}
	}
	if deleted > 0 {
		a.log.Info("snapshots past retention deleted", "count", deleted, "retention", a.keep)
	}
}

// roomDir is a room's folder in the archive; a room id is checked before it
// names a path.
func (a *snapshotArchive) roomDir(id string) (string, error) {
	if _, err := room.ParseID(id); err != nil {
		return "", err
	}
	return filepath.Join(a.root, id), nil
}

// ArchivedSnapshots lists a room's archived snapshots taken before before
// (any when zero), newest first, at most limit.
func (a *snapshotArchive) ArchivedSnapshots(ctx context.Context, id string, before time.Time, limit int) ([]signaling.ArchivedSnapshot, error) {
	dir, err := a.roomDir(id)
	if err != nil {
		return nil, err
	}
	files, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("snapshots of %s: %w", id, err)
	}
	out := make([]signaling.ArchivedSnapshot, 0, min(len(files), limit))
	for _, f := range files {
		if at, ok := takenAt(f.Name()); ok && (before.IsZero() || at.Before(before)) {
			out = append(out, signaling.ArchivedSnapshot{Name: f.Name(), TakenAt: at})
		}
	}
	slices.SortFunc(out, func(x, y signaling.ArchivedSnapshot) int { return y.TakenAt.Compare(x.TakenAt) })
	out = out[:min(len(out), limit)]
	for i := range out {
		if info, err := os.Stat(filepath.Join(dir, out[i].Name)); err == nil {
			out[i].Bytes = info.Size()
		}
	}
	return out, ctx.Err()
}

// ArchivedSnapshot is the path of a room's archived snapshot named name, or
// store.ErrNotFound.
func (a *snapshotArchive) ArchivedSnapshot(ctx context.Context, id, name string) (string, error) {
	dir, err := a.roomDir(id)
	if err != nil {
		return "", err
	}
	if _, ok := takenAt(name); !ok {
		return "", fmt.Errorf("%w: no snapshot is named %q", store.ErrNotFound, name)
	}
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w: no snapshot %s of room %s (older ones are deleted after %v)", store.ErrNotFound, name, id, a.keep)
	} else if err != nil {
		return "", err
	}
	return path, ctx.Err()
}
