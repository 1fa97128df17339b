package voice

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/onair-live/onair/media/ffmpeg"
)

// ScopeKind says whose a clip is.
type ScopeKind string

// The scopes.
const (
	ScopeRoom ScopeKind = "room" // posted in a room's chat: Scope.ID is the room
	ScopeDM   ScopeKind = "dm"   // sent in a private conversation: Scope.ID is the other user's id
)

// Scope says who may hear a clip.
type Scope struct {
	Kind ScopeKind
	ID   string
}

// Clip is a stored voice message.
type Clip struct {
	ID        string // ULID; the file is <data>/voice/<ID>.ogg
	Owner     string // the user id of who recorded it
	Duration  time.Duration
	Bytes     int64 // of the Ogg/Opus file
	Scope     Scope
	CreatedAt time.Time
}

// Store records clips (the system of record).
type Store interface {
	// SaveClip records a clip whose file is already in place and returns it
	// with CreatedAt set.
	SaveClip(ctx context.Context, c Clip) (Clip, error)
	// Clip returns the clip with id, or an error wrapping ErrNotFound.
	Clip(ctx context.Context, id string) (Clip, error)
}

// Upload is one voice message as a client sends it.
type Upload struct {
	Owner string // user id
	Scope Scope
	// Filename and ContentType are what the client said the file is; they
	// only word a refusal ("a PNG is not an AMR file"), the bytes decide.
	Filename    string
	ContentType string
	Body        io.Reader
}

// durationGrace is how far past MaxDuration a clip may run: Opus adds a few
// milliseconds of padding, and a press-and-hold ends a little after the limit.
const durationGrace = 500 * time.Millisecond

// staleWork is how old a working folder must be before a starting node
// removes it: one left by a node that died. Younger ones may belong to
// another node sharing the folder.
const staleWork = time.Hour

// Service takes voice messages and finds them again. It is safe for
// concurrent use.
type Service struct {
	cfg   Config
	tools ffmpeg.Tools
	store Store
	dir   string
	log   *slog.Logger
	// slots holds a token per transcode running; waiting counts uploads
	// queued for one.
	slots   chan struct{}
	waiting atomic.Int64
}

// New keeps clips in dataDir/voice (created if needed) and removes working
// folders that a node which died left there.
func New(cfg Config, tools ffmpeg.Tools, store Store, dataDir string, log *slog.Logger) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	dir := filepath.Join(dataDir, "voice")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("voice: %w", err)
	}
	s := &Service{cfg: cfg, tools: tools, store: store, dir: dir, log: log.With("component", "voice"), slots: make(chan struct{}, cfg.Concurrency)}
	s.removeStaleWork()
	return s, nil
}

// MaxBytes is the largest upload accepted.
func (s *Service) MaxBytes() int64 { return s.cfg.MaxBytes }

// MaxDuration is the longest clip accepted.
func (s *Service) MaxDuration() time.Duration { return s.cfg.MaxDuration }

// Dir is where the clips are.
func (s *Service) Dir() string { return s.dir }

const workPrefix = ".work-"

func (s *Service) removeStaleWork() {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), workPrefix) {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleWork {
			_ = os.RemoveAll(filepath.Join(s.dir, e.Name()))
		}
	}
}

// Upload checks, transcodes and stores a voice message. A refusal wraps one
// of ErrNotAudio, ErrUnsupported, ErrDamaged, ErrTooBig, ErrTooLong or
// ErrBusy; whatever happens, no file is left behind unless a clip is
// returned.
func (s *Service) Upload(ctx context.Context, up Upload) (Clip, error) {
	if up.Owner == "" || up.Scope.ID == "" || (up.Scope.Kind != ScopeRoom && up.Scope.Kind != ScopeDM) {
		return Clip{}, fmt.Errorf("%w: %+v", ErrBadScope, up.Scope)
	}
	// A full queue refuses before the client's bytes are read.
	if len(s.slots) == cap(s.slots) && s.waiting.Load() >= int64(s.cfg.Queue) {
		return Clip{}, s.busy()
	}
	work, err := os.MkdirTemp(s.dir, workPrefix)
	if err != nil {
		return Clip{}, fmt.Errorf("voice: %w", err)
	}
	defer os.RemoveAll(work)
	in := filepath.Join(work, "in")
	kind, err := s.receive(up, in)
	if err != nil {
		return Clip{}, err
	}
	release, err := s.acquire(ctx)
	if err != nil {
		return Clip{}, err
	}
	defer release()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	out := filepath.Join(work, "out.ogg")
	dur, err := s.transcode(ctx, in, out, kind)
	if err != nil {
		return Clip{}, err
	}
	return s.keep(ctx, up, out, dur)
}

// receive copies at most MaxBytes of the body to path after checking its
// magic bytes.
func (s *Service) receive(up Upload, path string) (Kind, error) {
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(up.Body, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return 0, s.readError(err)
	}
	head = head[:n]
	kind, err := Sniff(head, Claim(up.Filename, up.ContentType))
	if err != nil {
		return 0, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, fmt.Errorf("voice: %w", err)
	}
	defer f.Close()
	if _, err := f.Write(head); err != nil {
		return 0, fmt.Errorf("voice: %w", err)
	}
	rest, err := io.Copy(f, io.LimitReader(up.Body, s.cfg.MaxBytes-int64(n)+1))
	if err != nil {
		return 0, s.readError(err)
	}
	if size := int64(n) + rest; size > s.cfg.MaxBytes {
		return 0, TooBig(size, s.cfg.MaxBytes)
	}
	return kind, f.Close()
}

// readError words a body that could not be read: one the edge cut for its
// size (it says so with ErrTooBig) is too big; anything else is the client's
// connection.
func (s *Service) readError(err error) error {
	if errors.Is(err, ErrTooBig) {
		return TooBig(s.cfg.MaxBytes+1, s.cfg.MaxBytes)
	}
	return fmt.Errorf("voice: reading the upload: %w", err)
}

func (s *Service) busy() error {
	return fmt.Errorf("%w: %d voice messages are being converted; try again in a moment", ErrBusy, s.cfg.Concurrency+int(s.waiting.Load()))
}

// acquire takes a transcode slot, waiting in the queue when all are taken.
func (s *Service) acquire(ctx context.Context) (release func(), err error) {
	release = func() { <-s.slots }
	select {
	case s.slots <- struct{}{}:
		return release, nil
	default:
	}
	if s.waiting.Add(1) > int64(s.cfg.Queue) {
		s.waiting.Add(-1)
		return nil, s.busy()
	}
	defer s.waiting.Add(-1)
	select {
	case s.slots <- struct{}{}:
		return release, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("voice: waiting for a turn: %w", ctx.Err())
	}
}

// transcode checks in with ffprobe, converts it to out and returns the
// result's duration.
func (s *Service) transcode(ctx context.Context, in, out string, kind Kind) (time.Duration, error) {
	k := kinds[kind]
	info, err := s.tools.ProbeAs(ctx, in, k.demuxer)
	if err != nil {
		if ctx.Err() != nil {
			return 0, err
		}
		return 0, fmt.Errorf("%w: damaged %s: ffprobe could not read it (%s)", ErrDamaged, kind, reason(err))
	}
	a, ok := info.Audio()
	switch {
	case !ok:
		return 0, fmt.Errorf("%w: this %s has no audio", ErrUnsupported, kind)
	case a.Codec != k.codec:
		return 0, fmt.Errorf("%w: this %s holds %s audio, not %s", ErrUnsupported, kind, a.Codec, k.codecName)
	case info.Duration > s.cfg.MaxDuration+durationGrace && kind == Ogg:
		// Ogg states its exact length (AMR is counted below, WebM has none).
		return 0, s.tooLong(info.Duration, false)
	case info.Duration == 0 && kind != WebM:
		// AMR and Ogg always state a length once they hold one whole frame
		// (a recorder's WebM states none until it is finalized).
		return 0, fmt.Errorf("%w: truncated %s: ffprobe could not read it", ErrDamaged, kind)
	}
	if kind == AMRNB || kind == AMRWB {
		d, err := amrLength(in, kind)
		if err != nil {
			return 0, err
		}
		if d > s.cfg.MaxDuration+durationGrace {
			return 0, s.tooLong(d, false)
		}
	}
	limit := s.cfg.MaxDuration + durationGrace + time.Second // enough to tell "too long"
	if err := s.tools.RunFFmpeg(ctx, TranscodeArgs(in, out, kind, limit, s.cfg.Bitrate)); err != nil {
		if ctx.Err() != nil {
			return 0, err
		}
		return 0, fmt.Errorf("%w: damaged %s: ffmpeg could not decode it (%s)", ErrDamaged, kind, reason(err))
	}
	res, err := s.tools.ProbeAs(ctx, out, "ogg")
	if err != nil {
		return 0, fmt.Errorf("voice: reading the converted clip: %w", err)
	}
	switch {
	case res.Duration == 0:
		return 0, fmt.Errorf("%w: truncated %s: no sound could be decoded", ErrDamaged, kind)
	case res.Duration > s.cfg.MaxDuration+durationGrace:
		return 0, s.tooLong(res.Duration, res.Duration >= limit-100*time.Millisecond)
	}
	return res.Duration, nil
}

func (s *Service) tooLong(d time.Duration, cut bool) error {
	if cut { // converting stopped at the cap: the real length is unknown
		return fmt.Errorf("%w: more than %s, the limit is %s", ErrTooLong, secs(s.cfg.MaxDuration), secs(s.cfg.MaxDuration))
	}
	return fmt.Errorf("%w: %s, the limit is %s", ErrTooLong, secs(d), secs(s.cfg.MaxDuration))
}

// reason is an ffmpeg failure in ffmpeg's words, without "ffprobe failed".
func reason(err error) string {
	var ee *ffmpeg.ExitError
	if errors.As(err, &ee) && ee.Reason() != "" {
		return ee.Reason()
	}
	return err.Error()
}

// keep moves the converted file into place, then records it; a file whose
// record fails is removed.
func (s *Service) keep(ctx context.Context, up Upload, out string, dur time.Duration) (Clip, error) {
	fi, err := syncFile(out)
	if err != nil {
		return Clip{}, fmt.Errorf("voice: %w", err)
	}
	c := Clip{ID: ulid.Make().String(), Owner: up.Owner, Duration: dur, Bytes: fi.Size(), Scope: up.Scope}
	final := s.path(c.ID)
	if err := os.Rename(out, final); err != nil {
		return Clip{}, fmt.Errorf("voice: %w", err)
	}
	syncDir(s.dir) // the rename survives a crash; a failure here only weakens that
	saved, err := s.store.SaveClip(ctx, c)
	if err != nil {
		if rerr := os.Remove(final); rerr != nil {
			s.log.Error("voice clip left without a record", "file", final, "err", rerr)
		}
		return Clip{}, fmt.Errorf("voice: saving the clip: %w", err)
	}
	return saved, nil
}

func syncFile(path string) (os.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return nil, err
	}
	return f.Stat()
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

func (s *Service) path(id string) string { return filepath.Join(s.dir, id+".ogg") }

// ValidID reports whether id can name a clip: a ULID as this package writes
// them (upper case), so that it is safe in a file name.
func ValidID(id string) bool {
	u, err := ulid.ParseStrict(id)
	return err == nil && u.String() == id
}

// Clip returns the clip with id, or an error wrapping ErrNotFound.
func (s *Service) Clip(ctx context.Context, id string) (Clip, error) {
	if !ValidID(id) {
		return Clip{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	return s.store.Clip(ctx, id)
}

// Open opens a clip's Ogg/Opus file for reading.
func (s *Service) Open(id string) (*os.File, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	f, err := os.Open(s.path(id))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s (its file is missing)", ErrNotFound, id)
	}
	return f, err
}
