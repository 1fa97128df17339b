package egress

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/onair-live/onair/media/ffmpeg"
)

// Recording a broadcast.
//
// While the room is live, every run of the room job writes its own part,
// part-<run>.mp4 in the recording's folder: fragmented MP4 (an empty moov,
// then a moof+mdat fragment from each keyframe), the same encoded streams as
// HLS through ffmpeg's tee muxer, so a transcoded room is encoded once. A
// part is readable up to its last complete fragment whatever happens to the
// process (a crash, SIGKILL, a full disk), where a plain MP4 is unreadable
// until ffmpeg writes its moov at the very end; and a part per run means a
// restart never writes over what was recorded.
//
// When the broadcast ends the parts are joined, without re-encoding (unless
// their pictures differ: join.go), into one progressive MP4 with its index
// in front (+faststart): replay.mp4. That
// is what replay serves: every browser plays H.264/AAC MP4 in a <video>
// element and seeks in it with range requests, where HLS would need a
// script player in Chromium and Firefox (they have no native HLS). A node
// that died mid-broadcast leaves the parts, which Finalize joins the same
// way later.

// Files in a recording's folder.
const (
	// ReplayName is the finished recording.
	ReplayName = "replay.mp4"
	partsList  = "parts.txt"
)

func partName(run int64) string { return "part-" + strconv.FormatInt(run, 10) + ".mp4" }

// recordFormat is the part's muxer and its options.
var recordFormat = [][2]string{{"movflags", "+frag_keyframe+empty_moov+default_base_moof"}}

// RecordingRoomArgs are RoomArgs that also record the room into recDir
// (part-<run>.mp4). With HLS on, one encoding feeds both through the tee
// muxer (global headers, which MP4 needs, are asked of the encoders).
func RecordingRoomArgs(c Config, in Input, dir, recDir string, run int64) ([]string, error) {
	if recDir == "" {
		return nil, errors.New("egress: a recording needs a folder")
	}
	return roomArgs(c, in, dir, recDir, run)
}

// silence is how long a recording room job's input may be silent, in whole
// seconds, before ffmpeg takes it as ended (the SDP demuxer's
// listen_timeout, checked on every read: ffmpeg gives up after about three
// of them). Ending by input is what lets ffmpeg finish every output: a SIGINT
// cannot stop it while its read of a quiet input blocks (fftools
// decode_interrupt_cb needs a second signal once transcoding began, and that
// one aborts the output writes too), so it would be killed and lose the
// part's last fragment. When the room ends the job waits for this
// (drainWait) before it interrupts ffmpeg.
const silence = 1

// drainWait bounds how long a recording job waits, once its room ended, for
// ffmpeg to end on the silence of its input.
const drainWait = 3*silence*time.Second + 2*time.Second

// endOnSilence adds the input's silence limit to input arguments (before
// the SDP input).
func endOnSilence(args []string) []string {
	i := slices.Index(args, "sdp")
	return slices.Concat(args[:i-1], []string{"-listen_timeout", strconv.Itoa(silence)}, args[i-1:])
}

// recordOutput writes the part alone (HLS off).
func recordOutput(recDir string, run int64) []string {
	args := []string{"-f", "mp4"}
	for _, o := range recordFormat {
		args = append(args, "-"+o[0], o[1])
	}
	return append(args, filepath.Join(recDir, partName(run)))
}

// teeReserved are characters the tee muxer reads as syntax in a slave's
// options or file name.
const teeReserved = `\:|[]'"=`

// recordTee writes HLS (with hls, its muxer options, to playlist) and the
// recording's part through one tee output.
func recordTee(hls [][2]string, playlist, recDir string, run int64) ([]string, error) {
	slave := func(format string, opts [][2]string, path string) (string, error) {
		if strings.ContainsAny(path, teeReserved) {
			return "", fmt.Errorf("egress: cannot record into %q: the data folder's path has one of %s, which ffmpeg's tee muxer reserves", path, teeReserved)
		}
		var b strings.Builder
		b.WriteString("[f=" + format)
		for _, o := range opts {
			if strings.ContainsAny(o[1], teeReserved) {
				return "", fmt.Errorf("egress: cannot record with %s=%q: it has one of %s, which ffmpeg's tee muxer reserves", o[0], o[1], teeReserved)
			}
			b.WriteString(":" + o[0] + "=" + o[1])
		}
		return b.String() + "]" + path, nil
	}
	h, err := slave("hls", hls, playlist)
	if err != nil {
		return nil, err
	}
	r, err := slave("mp4", recordFormat, filepath.Join(recDir, partName(run)))
	if err != nil {
		return nil, err
	}
	return []string{"-flags", "+global_header", "-f", "tee", h + "|" + r}, nil
}

// FinalizeArgs are ffmpeg's arguments to join the parts listed in dir's
// parts.txt (ffmpeg's concat demuxer; plain names, resolved in dir) into
// out without re-encoding, with the index in front for progressive play.
func FinalizeArgs(dir, out string) []string {
	return []string{"-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-protocol_whitelist", "file",
		"-f", "concat", "-i", "file:" + filepath.Join(dir, partsList),
		"-map", "0:v:0", "-map", "0:a:0?", "-c", "copy", "-movflags", "+faststart", "-f", "mp4", "file:" + out}
}

// Recorded is a finished recording.
type Recorded struct {
	Path     string // the folder; the file is ReplayName in it
	Duration time.Duration
	Size     int64
}

// ErrNothingRecorded: a recording has no picture to play.
var ErrNothingRecorded = errors.New("egress: nothing was recorded")

// parts lists a recording's parts, oldest run first.
func parts(dir string) ([]string, error) {
	names, err := filepath.Glob(filepath.Join(dir, "part-*.mp4"))
	if err != nil {
		return nil, err
	}
	run := func(p string) int64 {
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "part-"), ".mp4"), 10, 64)
		return n
	}
	slices.SortFunc(names, func(a, b string) int { return int(max(min(run(a)-run(b), 1), -1)) })
	return names, nil
}

// Finalize joins the parts in a recording's folder dir into ReplayName and
// removes them; a folder finalized already is only measured again. Parts
// ffprobe finds no video in (a run that died before its first keyframe) are
// left out; with none left it is ErrNothingRecorded.
func Finalize(ctx context.Context, tools ffmpeg.Tools, dir string) (Recorded, error) {
	out := filepath.Join(dir, ReplayName)
	ps, err := parts(dir)
	if err != nil {
		return Recorded{}, err
	}
	var list strings.Builder
	var good []part
	for _, p := range ps {
		info, err := tools.Probe(ctx, p)
		if err != nil || !hasVideo(info) {
			continue
		}
		good = append(good, partOf(p, info))
		fmt.Fprintf(&list, "file '%s'\n", filepath.Base(p)) // part-<digits>.mp4: nothing to quote
	}
	if len(good) > 0 {
		if err := os.WriteFile(filepath.Join(dir, partsList), []byte(list.String()), 0o644); err != nil {
			return Recorded{}, fmt.Errorf("egress: finalize recording: %w", err)
		}
		tmp := filepath.Join(dir, "replay.tmp.mp4")
		args := FinalizeArgs(dir, tmp)
		if !copyable(good) {
			args = JoinArgs(dir, good, tmp)
		}
		if err := tools.RunFFmpeg(ctx, args); err != nil {
			_ = os.Remove(tmp)
			return Recorded{}, fmt.Errorf("egress: finalize recording: %w", err)
		}
		if err := os.Rename(tmp, out); err != nil {
			return Recorded{}, fmt.Errorf("egress: finalize recording: %w", err)
		}
	}
	info, err := tools.Probe(ctx, out)
	if errors.Is(ctx.Err(), context.Canceled) {
		return Recorded{}, ctx.Err()
	}
	if err != nil || !hasVideo(info) || info.Duration <= 0 {
		return Recorded{}, ErrNothingRecorded
	}
	for _, p := range ps {
		_ = os.Remove(p)
	}
	_ = os.Remove(filepath.Join(dir, partsList))
	return Recorded{Path: dir, Duration: info.Duration, Size: info.Size}, nil
}

func hasVideo(i ffmpeg.Info) bool {
	for _, s := range i.Streams {
		if s.Type == "video" {
			return true
		}
	}
	return false
}

// Recordings keeps the records of recordings (the system of record).
type Recordings interface {
	// RecordingEnded is called once for each recording a Supervisor started,
	// after its room ended and its files are final (ended is when the room
	// ended): r is the finished recording, or err says why there is none
	// (ErrNothingRecorded, or ffmpeg's failure).
	RecordingEnded(ctx context.Context, id string, ended time.Time, r Recorded, err error)
}

// RecordingDir is the folder of recording id under root (<data>/recordings).
func RecordingDir(root, id string) string { return filepath.Join(root, id) }

// RoomStartedRecording is RoomStarted that also records the broadcast as
// recording id, into <data>/recordings/<id>; when the room ends the
// recording is finalized and Deps.Recordings told.
func (s *Supervisor) RoomStartedRecording(room, id string) { s.start(room, id) }

// Recording reports whether recording id is being written on this node.
func (s *Supervisor) Recording(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.rooms {
		if b.rec == id {
			return true
		}
	}
	return false
}

// prepare readies the broadcast's folders for a run of its room job.
func (b *broadcast) prepare() error {
	if b.recDir != "" {
		if err := os.MkdirAll(b.recDir, 0o755); err != nil {
			return err
		}
	}
	return resetFolder(b.dir)
}

// finalizeTimeout bounds joining a recording's parts: a copy, at disk speed.
const finalizeTimeout = 10 * time.Minute

// finishRecording finalizes a broadcast's recording once its room job
// stopped, even while the node shuts down, and reports it.
func (s *Supervisor) finishRecording(b *broadcast) {
	ended := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), finalizeTimeout)
	defer cancel()
	r, err := Finalize(ctx, s.tools, b.recDir)
	log := s.log.With("room", b.room, "recording", b.rec)
	if err != nil {
		log.Warn("recording failed", "err", err)
	} else {
		log.Info("recording ready", "duration", r.Duration, "bytes", r.Size)
	}
	if s.recs != nil {
		s.recs.RecordingEnded(ctx, b.rec, ended, r, err)
	}
}
