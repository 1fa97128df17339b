package egress

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/onair-live/onair/media/ffmpeg"
	"github.com/onair-live/onair/sfu"
)

// job keeps one ffmpeg running for a room while it is live: it taps the
// room, starts ffmpeg with the tap's SDP, asks for keyframes until ffmpeg
// makes progress (and then every keyEvery when video is copied), and starts
// ffmpeg again, after a growing pause, whenever it dies or stalls, until
// its context ends.
type job struct {
	s    *Supervisor
	room string
	log  *slog.Logger
	// args builds ffmpeg's arguments for run number run of what the tap
	// sends.
	args func(in Input, run int64) ([]string, error)
	// prepare, when set, runs before each start; an error counts as a failed
	// run.
	prepare func(ctx context.Context, run int64) error
	// secrets are replaced by "****" wherever the job shows ffmpeg's words
	// (its status reason and the log).
	secrets []string
	// keyEvery is how often to ask for a keyframe while video is copied:
	// HLS cuts segments and RTMP ingests expect GOPs at keyframes, and a
	// WebRTC sender makes keyframes only when asked.
	keyEvery time.Duration
	// drain, when positive, is how long ffmpeg has to end by itself once the
	// room ended (its input goes quiet) before it is interrupted.
	drain time.Duration
	// slotted: its starter took the job's slot under the node's cap
	// already (the room job, which comes before the room's pushes).
	slotted bool

	mu     sync.Mutex
	status Status
	done   chan struct{}
}

func (s *Supervisor) newJob(room, kind string, args func(Input, int64) ([]string, error)) *job {
	return &job{s: s, room: room, log: s.log.With("room", room, "job", kind), args: args,
		status: Status{State: StateConnecting, Since: time.Now()}, done: make(chan struct{})}
}

// Status is the job's state now.
func (j *job) Status() Status {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.status
}

func (j *job) set(st State, reason string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if st != j.status.State {
		j.status.Since = time.Now()
	}
	j.status.State = st
	if st != StateConnecting || reason != "" {
		j.status.Reason = reason
	}
}

// redact hides the job's secrets in s.
func (j *job) redact(s string) string {
	for _, k := range j.secrets {
		if k != "" {
			s = strings.ReplaceAll(s, k, "****")
		}
	}
	return s
}

// reason is what a person reads about a failed run.
func (j *job) reason(err error) string {
	var ee *ffmpeg.ExitError
	if errors.As(err, &ee) {
		if r := ee.Reason(); r != "" {
			return j.redact(r)
		}
	}
	return j.redact(strings.TrimPrefix(err.Error(), "egress: "))
}

// run is the job's life: a slot under the node's cap, then runs of ffmpeg
// with pauses between them, until ctx ends.
func (j *job) run(ctx context.Context) {
	defer close(j.done)
	defer j.set(StateOffline, "")
	cfg := j.s.cfg
	pause := cfg.RestartMin
	wait := func() bool {
		t := time.NewTimer(pause)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
		pause = min(2*pause, cfg.RestartMax)
		return true
	}
	for !j.slotted && !j.s.acquire() {
		j.set(StateError, j.reason(fmt.Errorf("%w: this server runs %d media jobs (egress.max_jobs); waiting for one to end", ErrJobLimit, cfg.MaxJobs)))
		j.log.Warn("media job waits for a slot", "max_jobs", cfg.MaxJobs)
		if !wait() {
			return
		}
	}
	defer j.s.release()
	pause = cfg.RestartMin
	for starts := 0; ; starts++ {
		j.mu.Lock()
		j.status.Restarts = max(starts-1, 0)
		j.mu.Unlock()
		j.set(StateConnecting, "")
		began := time.Now()
		liveFor, err := j.once(ctx)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errRecompose) { // not a failure: start at once
			j.log.Info("co-hosts changed; laying them out again")
			starts--
			continue
		}
		msg := j.reason(err)
		j.set(StateError, msg)
		if errors.Is(err, ErrCodec) { // the room's codec is fixed for its life
			j.log.Warn("no egress for this room", "err", msg)
			<-ctx.Done()
			return
		}
		j.log.Warn("ffmpeg stopped; starting it again", "err", msg, "after", pause, "ran", time.Since(began).Round(time.Millisecond))
		if liveFor > time.Minute {
			pause = cfg.RestartMin
		}
		if !wait() {
			return
		}
	}
}

// errStalled: ffmpeg's output stopped growing.
var errStalled = errors.New("egress: ffmpeg made no progress")

// errRecompose: the stage changed (a co-host joined or left); ffmpeg starts
// again with the new layout.
var errRecompose = errors.New("egress: the co-hosts changed")

// settle is how long a job waits, once the stage changed, for more changes
// before it lays the co-hosts out again: co-hosts often join together, and
// a new one's media starts a moment after it joined.
const settle = 500 * time.Millisecond

// stageAddrs finds ports for n co-hosts' video and audio.
func stageAddrs(n int) ([]sfu.TapAddrs, error) {
	addrs, err := freePorts(2 * n)
	if err != nil {
		return nil, err
	}
	out := make([]sfu.TapAddrs, n)
	for i := range out {
		out[i] = sfu.TapAddrs{Video: addrs[2*i], Audio: addrs[2*i+1]}
	}
	return out, nil
}

// changed waits for the tap's stage to change and to settle; false when ctx
// or the tap ended first.
func changed(ctx context.Context, tap *sfu.Tap) bool {
	select {
	case <-tap.Changed():
	case <-tap.Done():
		return false
	case <-ctx.Done():
		return false
	}
	t := time.NewTimer(settle)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// once runs ffmpeg once; it returns how long the output was live and why
// the run ended.
func (j *job) once(ctx context.Context) (time.Duration, error) {
	cfg := j.s.cfg
	stage, err := stageAddrs(cfg.CoHosts)
	if err != nil {
		return 0, err
	}
	tap, err := j.s.taps.Tap(j.room, stage)
	if err != nil {
		return 0, err
	}
	defer tap.Close()
	tracks := tap.Tracks()
	in := inputOf(tracks)
	copyVideo, err := copyVideo(in)
	if err != nil {
		return 0, err
	}
	run := time.Now().UnixMilli()
	args, err := j.args(in, run)
	if errors.Is(err, errNoOutput) {
		j.set(StateError, j.reason(err))
		if changed(ctx, tap) {
			return 0, errRecompose
		}
		return 0, err
	}
	if err != nil {
		return 0, err
	}
	if j.prepare != nil {
		if err := j.prepare(ctx, run); err != nil {
			return 0, err
		}
	}
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	var (
		pmu       sync.Mutex
		out       time.Duration // output time reached
		advanced  = time.Now()  // when it last grew
		liveSince time.Time
	)
	onProgress := func(p ffmpeg.Progress) {
		pmu.Lock()
		defer pmu.Unlock()
		if p.OutTime > out {
			out, advanced = p.OutTime, time.Now()
			// Size is the first output's, unknown for HLS; Frame counts
			// its pictures.
			if liveSince.IsZero() && (p.Size > 0 || p.Frame > 0 || in.Videos == 0) {
				liveSince = advanced
				j.set(StateLive, "")
				j.log.Info("ffmpeg is live", "codec", in.Codec, "copy", copyVideo, "pictures", in.Videos, "voices", in.Audios)
			}
		}
	}
	var lastLog time.Time
	onStderr := func(line string) {
		pmu.Lock()
		started := !liveSince.IsZero()
		pmu.Unlock()
		if !started { // a stream joined mid-way starts with complaints
			j.log.Debug("ffmpeg says", "line", j.redact(line))
			return
		}
		if now := time.Now(); now.Sub(lastLog) > 5*time.Second { // ffmpeg can repeat an error per packet
			lastLog = now
			j.log.Warn("ffmpeg says", "line", j.redact(line))
		}
	}
	p, err := ffmpeg.Start(pctx, ffmpeg.Cmd{Path: j.s.tools.FFmpeg, Args: args, Stdin: strings.NewReader(SDP(j.room, tracks)),
		Stdout: ffmpeg.ProgressWriter(onProgress), OnStderr: onStderr, Interrupt: 2 * time.Second})
	if err != nil {
		return 0, err
	}
	exited := make(chan error, 1)
	go func() { exited <- p.Wait() }()
	// The first keyframe is only useful once ffmpeg listens.
	waitBound(pctx, tracks[0].Addr.Port, exited)
	tap.Start()
	tick := time.NewTicker(min(time.Second, cfg.SegmentDuration))
	defer tick.Stop()
	lived := func() time.Duration {
		pmu.Lock()
		defer pmu.Unlock()
		if liveSince.IsZero() {
			return 0
		}
		return time.Since(liveSince)
	}
	lastKey := time.Now()
	chg := tap.Changed()
	var recompose <-chan time.Time
	for {
		select {
		case err := <-exited:
			if err == nil {
				err = errors.New("egress: ffmpeg ended its output")
			}
			return lived(), err
		case <-chg:
			// Let the stage settle while this run goes on, then start again.
			chg, recompose = nil, time.After(settle)
		case <-recompose:
			stop()
			<-exited
			return lived(), errRecompose
		case <-tap.Done():
			if j.drain > 0 {
				t := time.NewTimer(j.drain)
				select {
				case <-exited:
					t.Stop()
					return lived(), errors.New("egress: the room ended")
				case <-t.C:
				}
			}
			stop()
			<-exited
			return lived(), errors.New("egress: the room ended")
		case now := <-tick.C:
			pmu.Lock()
			started, idle := !liveSince.IsZero(), now.Sub(advanced)
			pmu.Unlock()
			// Until ffmpeg has a picture, and then every keyEvery when
			// copying video, ask for a keyframe.
			if !started || copyVideo && j.keyEvery > 0 && now.Sub(lastKey) >= j.keyEvery*9/10 {
				tap.RequestKeyframe()
				lastKey = now
			}
			if idle > cfg.StallTimeout {
				stop()
				<-exited
				return lived(), fmt.Errorf("%w for %v", errStalled, cfg.StallTimeout)
			}
		}
	}
}
