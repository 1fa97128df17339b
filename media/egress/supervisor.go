package egress

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/onair-live/onair/media/ffmpeg"
	"github.com/onair-live/onair/sfu"
)

// Taps is the media plane as the egress needs it; *sfu.SFU satisfies it.
type Taps interface {
	Tap(room string, stage []sfu.TapAddrs) (*sfu.Tap, error)
}

// Deps are what a Supervisor works with.
type Deps struct {
	Tools   ffmpeg.Tools
	Taps    Taps
	Targets TargetStore
	// Resolver looks up restream hosts; nil means net.DefaultResolver.
	Resolver Resolver
	// Recordings, when set, is told how each recording ended.
	Recordings Recordings
	Log        *slog.Logger
}

// Supervisor runs the egress jobs of the live rooms of one node. Its
// RoomStarted and RoomEnded never block: they start and stop jobs, which run
// on their own goroutines; Close stops them all and waits.
type Supervisor struct {
	cfg     Config
	allow   allowList
	tools   ffmpeg.Tools
	taps    Taps
	targets TargetStore
	resolve Resolver
	dir     string
	recRoot string // <data>/recordings
	recs    Recordings
	log     *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	slots  chan struct{} // one per ffmpeg this node may run
	wg     sync.WaitGroup

	mu       sync.Mutex
	rooms    map[string]*broadcast
	closed   bool // no room starts
	draining bool // no goroutine starts: Close waits for them
}

// broadcast is one live room's egress on this node.
type broadcast struct {
	room   string
	dir    string // its HLS files and snapshot
	rec    string // the recording's id; empty when not recorded
	recDir string // the recording's folder
	ctx    context.Context
	cancel context.CancelFunc
	main   *job       // HLS and snapshots; nil when both are off
	sync   sync.Mutex // one target sync at a time
	mu     sync.Mutex // guards pushes
	pushes map[string]*push
}

func (b *broadcast) push(id string) *push {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pushes[id]
}

func (b *broadcast) setPush(id string, p *push) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p == nil {
		delete(b.pushes, id)
	} else {
		b.pushes[id] = p
	}
}

// push is a running restream and the target it was started for.
type push struct {
	job    *job
	target Target
	cancel context.CancelFunc
}

// New builds a supervisor that keeps its files under <data>/egress. Folders
// left there by a node that stopped (untouched for a minute) are removed.
func New(cfg Config, data string, d Deps) (*Supervisor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	allow, _ := parseAllowList(cfg.RTMPAllow)
	dir := filepath.Join(data, "egress")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("egress: %w", err)
	}
	removeStale(dir, time.Minute)
	res := d.Resolver
	if res == nil {
		res = net.DefaultResolver
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Supervisor{cfg: cfg, allow: allow, tools: d.Tools, taps: d.Taps, targets: d.Targets, resolve: res, dir: dir,
		recRoot: filepath.Join(data, "recordings"), recs: d.Recordings, log: d.Log.With("component", "egress"), ctx: ctx, cancel: cancel, slots: make(chan struct{}, cfg.MaxJobs),
		rooms: map[string]*broadcast{}}, nil
}

// removeStale deletes broadcast folders not written to for age: a live
// room's folder changes every segment.
func removeStale(dir string, age time.Duration) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > age {
			_ = os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

func (s *Supervisor) acquire() bool {
	select {
	case s.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

func (s *Supervisor) release() { <-s.slots }

// spawn runs f on a goroutine that Close waits for.
func (s *Supervisor) spawn(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.spawnLocked(f)
}

func (s *Supervisor) spawnLocked(f func()) {
	if s.draining {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// RoomStarted starts a live room's egress: the room job (HLS, snapshots) and
// a push per enabled restream target.
func (s *Supervisor) RoomStarted(room string) { s.start(room, "") }

// start starts a room's egress, recorded as rec unless that is empty.
func (s *Supervisor) start(room, rec string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.rooms[room] != nil {
		return
	}
	b := &broadcast{room: room, dir: filepath.Join(s.dir, fmt.Sprintf("%s-%d", room, time.Now().UnixMilli())), pushes: map[string]*push{}}
	b.ctx, b.cancel = context.WithCancel(s.ctx)
	s.rooms[room] = b
	if rec != "" {
		b.rec, b.recDir = rec, RecordingDir(s.recRoot, rec)
	}
	if s.cfg.hls() || s.cfg.snapshots() || b.rec != "" {
		b.main = s.newJob(room, "room", func(in Input, run int64) ([]string, error) { return roomArgs(s.cfg, in, b.dir, b.recDir, run) })
		b.main.prepare = func(context.Context, int64) error { return b.prepare() }
		if b.rec != "" {
			b.main.drain = drainWait
		}
		b.main.keyEvery = s.cfg.SnapshotInterval // keyframes are what a copying job's snapshot decodes
		if s.cfg.hls() {
			b.main.keyEvery = s.cfg.SegmentDuration
		}
		// The room's own output takes a slot before its pushes can: left to
		// its goroutine, a busy machine sometimes let a push read its
		// target and take the last slot first.
		if !s.draining {
			b.main.slotted = s.acquire()
		}
		s.spawnLocked(func() { b.main.run(b.ctx) })
	}
	s.spawnLocked(func() { s.syncTargets(b) })
}

// resetFolder empties a broadcast's folder for a new run, keeping the last
// snapshot (still a fair picture of the room).
func resetFolder(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() != snapshotName {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	return nil
}

// RoomEnded stops a room's jobs; its files are removed once they stopped.
func (s *Supervisor) RoomEnded(room string) {
	s.mu.Lock()
	b := s.rooms[room]
	delete(s.rooms, room)
	s.mu.Unlock()
	if b == nil {
		return
	}
	b.cancel()
	s.spawn(func() {
		if b.main != nil {
			<-b.main.done
		}
		if b.rec != "" {
			s.finishRecording(b)
		}
		b.sync.Lock() // a sync in flight sees the broadcast cancelled and starts nothing
		for _, p := range b.pushes {
			<-p.job.done
		}
		b.sync.Unlock()
		_ = os.RemoveAll(b.dir)
	})
}

// Close stops every job and waits for them.
func (s *Supervisor) Close() {
	s.mu.Lock()
	s.closed = true
	rooms := make([]string, 0, len(s.rooms))
	for r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	for _, r := range rooms {
		s.RoomEnded(r)
	}
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

func (s *Supervisor) live(room string) *broadcast {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rooms[room]
}

// HLSDir is the folder of a live room's HLS playlist and segments; false
// when the room is not live on this node or HLS is off.
func (s *Supervisor) HLSDir(room string) (string, bool) {
	b := s.live(room)
	if b == nil || !s.cfg.hls() {
		return "", false
	}
	return b.dir, true
}

// Snapshot is the path of a live room's latest snapshot; false when the room
// is not live on this node (the file may not exist yet).
func (s *Supervisor) Snapshot(room string) (string, bool) {
	b := s.live(room)
	if b == nil || !s.cfg.snapshots() {
		return "", false
	}
	return filepath.Join(b.dir, snapshotName), true
}

// RoomStatus is the room job's status; false when the room is not live here
// (or HLS and snapshots are off).
func (s *Supervisor) RoomStatus(room string) (Status, bool) {
	b := s.live(room)
	if b == nil || b.main == nil {
		return Status{}, false
	}
	return b.main.Status(), true
}

// syncTargets makes a live room's pushes match its enabled targets.
func (s *Supervisor) syncTargets(b *broadcast) {
	b.sync.Lock()
	defer b.sync.Unlock()
	if b.ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	targets, err := s.targets.RestreamTargets(ctx, b.room)
	if err != nil {
		if b.ctx.Err() == nil {
			s.log.Error("restream targets unreadable", "room", b.room, "err", err)
		}
		return
	}
	want := map[string]Target{}
	for _, t := range targets {
		if t.Enabled {
			want[t.ID] = t
		}
	}
	b.mu.Lock()
	var stale []string
	for id, p := range b.pushes {
		if t, ok := want[id]; !ok || t.URL != p.target.URL || t.Key != p.target.Key {
			stale = append(stale, id)
		}
	}
	b.mu.Unlock()
	for _, id := range stale {
		p := b.push(id)
		p.cancel()
		<-p.job.done
		b.setPush(id, nil)
	}
	if b.ctx.Err() != nil {
		return
	}
	for id, t := range want {
		if b.push(id) == nil {
			b.setPush(id, s.startPush(b, t))
		}
	}
}

// pushGOP is the keyframe interval a copied restream asks for (unless the
// segments are longer): 2 s, what ingests such as YouTube's and Twitch's
// recommend.
const pushGOP = 2 * time.Second

// startPush runs a restream of b to t.
func (s *Supervisor) startPush(b *broadcast, t Target) *push {
	u := t.pushURL()
	j := s.newJob(b.room, "restream "+t.ID, func(in Input, _ int64) ([]string, error) { return PushArgs(s.cfg, in, u) })
	j.secrets = []string{t.Key}
	j.keyEvery = max(s.cfg.SegmentDuration, pushGOP)
	_, host, _ := parseTargetURL(t.URL)
	// The host is checked again before every connection: its name may have
	// come to point elsewhere since it was saved.
	j.prepare = func(ctx context.Context, _ int64) error { return s.allow.check(ctx, s.resolve, host) }
	ctx, cancel := context.WithCancel(b.ctx)
	s.spawn(func() { j.run(ctx) })
	return &push{job: j, target: t, cancel: cancel}
}

// status is a target's push status now.
func (s *Supervisor) status(room string, t Target) Status {
	b := s.live(room)
	if b == nil || !t.Enabled {
		return Status{State: StateOffline}
	}
	p := b.push(t.ID)
	if p == nil || p.target.URL != t.URL || p.target.Key != t.Key {
		return Status{State: StateConnecting} // a sync is on its way
	}
	return p.job.Status()
}

// resync applies a change of room's targets to its live pushes.
func (s *Supervisor) resync(room string) {
	if b := s.live(room); b != nil {
		s.spawn(func() { s.syncTargets(b) })
	}
}

// Targets lists a room's restream targets with the status of each.
func (s *Supervisor) Targets(ctx context.Context, room string) ([]TargetView, error) {
	ts, err := s.targets.RestreamTargets(ctx, room)
	if err != nil {
		return nil, err
	}
	out := make([]TargetView, 0, len(ts))
	for _, t := range ts {
		out = append(out, view(t, s.status(room, t)))
	}
	return out, nil
}

// checkURL validates a target URL and its host against the allow-list.
func (s *Supervisor) checkURL(ctx context.Context, raw string) (string, error) {
	clean, host, err := parseTargetURL(raw)
	if err != nil {
		return "", err
	}
	return clean, s.allow.check(ctx, s.resolve, host)
}

// AddTarget saves a new restream target for room after checking it; a live
// room starts pushing to it at once.
func (s *Supervisor) AddTarget(ctx context.Context, room string, in TargetInput) (TargetView, error) {
	if err := errors.Join(checkName(in.Name), checkKey(in.Key)); err != nil {
		return TargetView{}, err
	}
	u, err := s.checkURL(ctx, in.URL)
	if err != nil {
		return TargetView{}, err
	}
	t, err := s.targets.CreateRestreamTarget(ctx, Target{Room: room, Name: strings.TrimSpace(in.Name), URL: u, Key: in.Key,
		Enabled: in.Enabled == nil || *in.Enabled}, s.cfg.MaxTargets)
	if err != nil {
		return TargetView{}, err
	}
	s.resync(room)
	return view(t, s.status(room, t)), nil
}

// UpdateTarget changes what p sets of room's target id, checking it as
// AddTarget does.
func (s *Supervisor) UpdateTarget(ctx context.Context, room, id string, p TargetPatch) (TargetView, error) {
	if p.Name != nil {
		if err := checkName(*p.Name); err != nil {
			return TargetView{}, err
		}
		n := strings.TrimSpace(*p.Name)
		p.Name = &n
	}
	if p.Key != nil {
		if err := checkKey(*p.Key); err != nil {
			return TargetView{}, err
		}
	}
	if p.URL != nil {
		u, err := s.checkURL(ctx, *p.URL)
		if err != nil {
			return TargetView{}, err
		}
		p.URL = &u
	}
	t, err := s.targets.UpdateRestreamTarget(ctx, room, id, p)
	if err != nil {
		return TargetView{}, err
	}
	s.resync(room)
	return view(t, s.status(room, t)), nil
}

// RemoveTarget deletes room's target id; a push to it stops.
func (s *Supervisor) RemoveTarget(ctx context.Context, room, id string) error {
	if err := s.targets.DeleteRestreamTarget(ctx, room, id); err != nil {
		return err
	}
	s.resync(room)
	return nil
}
