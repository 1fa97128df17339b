package egress

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onair-live/onair/media/ffmpeg"
	"github.com/onair-live/onair/media/ffmpeg/ffmpegtest"
)

func realTools(t *testing.T) ffmpeg.Tools {
	t.Helper()
	tl, err := ffmpeg.Find(ffmpeg.DefaultConfig())
	if err != nil {
		t.Fatalf("these tests need ffmpeg and ffprobe: %v", err)
	}
	return tl
}

func TestRecordingArgsGolden(t *testing.T) {
	off := false
	for _, c := range []struct {
		name, codec string
		cfg         Config
	}{
		{"record-vp8", "VP8", Config{}},
		{"record-h264", "H264", Config{}},
		{"record-mpegts", "H264", Config{SegmentType: "mpegts"}},
		{"record-only", "H264", Config{HLS: &off, Snapshots: &off}},
	} {
		args, err := RecordingRoomArgs(c.cfg, Single(c.codec), "/data/egress/tv-1", "/data/recordings/01J0", 1700000000000)
		if err != nil {
			t.Fatal(err)
		}
		ffmpegtest.Golden(t, c.name, args)
	}
	ffmpegtest.Golden(t, "finalize", FinalizeArgs("/data/recordings/01J0", "/data/recordings/01J0/replay.tmp.mp4"))

	// Without a recording the room job's arguments are RoomArgs'.
	a, _ := RoomArgs(Config{}, Single("VP8"), "/d", 1)
	b, _ := roomArgs(Config{}, Single("VP8"), "/d", "", 1)
	if !slices.Equal(a, b) {
		t.Fatal("roomArgs without a recording differ from RoomArgs")
	}
	if _, err := RecordingRoomArgs(Config{}, Single("VP8"), "/d", "/data|x/rec", 1); err == nil || !strings.Contains(err.Error(), "tee muxer reserves") {
		t.Fatalf("a folder with a | in it: %v", err)
	}
	if _, err := RecordingRoomArgs(Config{}, Single("VP8"), "/d", "", 1); err == nil {
		t.Fatal("a recording without a folder was accepted")
	}
}

// lavfiRun runs the output half of args (what follows the SDP input) on a
// generated picture and tone of secs seconds.
func lavfiRun(t *testing.T, tl ffmpeg.Tools, args []string, secs string) {
	t.Helper()
	lavfiRunFrom(t, tl, args, secs, "testsrc2=s=320x240:r=30[out0];sine=f=440:r=48000[out1]")
}

// lavfiRunFrom is lavfiRun from a lavfi graph of one's own.
func lavfiRunFrom(t *testing.T, tl ffmpeg.Tools, args []string, secs, graph string) {
	t.Helper()
	i := slices.Index(args, "pipe:0")
	if i < 0 {
		t.Fatal("no SDP input in the arguments")
	}
	in := []string{"-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-t", secs, "-f", "lavfi", "-i", graph}
	if err := tl.RunFFmpeg(t.Context(), append(in, args[i+1:]...)); err != nil {
		t.Fatal(err)
	}
}

// The room job's tee writes HLS and the recording's part from one encoding;
// parts, whole or cut short as a crash leaves them, join into one MP4 with
// its index in front; a part without a picture is left out.
func TestRecordingWithRealFFmpeg(t *testing.T) {
	tl := realTools(t)
	live, rec := t.TempDir(), t.TempDir()
	for _, run := range []int64{100, 200} {
		args, err := RecordingRoomArgs(Config{}, Single("VP8"), live, rec, run)
		if err != nil {
			t.Fatal(err)
		}
		lavfiRun(t, tl, args, "3")
	}
	info, err := tl.Probe(t.Context(), filepath.Join(live, playlistName))
	if err != nil || !hasVideo(info) {
		t.Fatalf("HLS beside the recording: %+v (%v)", info, err)
	}
	if _, err := os.Stat(filepath.Join(live, snapshotName)); err != nil {
		t.Fatalf("snapshot beside the recording: %v", err)
	}
	for _, run := range []int64{100, 200} {
		info, err := tl.Probe(t.Context(), filepath.Join(rec, partName(run)))
		if err != nil || !hasVideo(info) || info.Duration < 2900*time.Millisecond {
			t.Fatalf("part %d: %+v (%v)", run, info, err)
		}
	}
	// Run 200 was cut short mid-fragment (a crash), run 300 died before a
	// picture, run 50 is not MP4 at all.
	p200 := filepath.Join(rec, partName(200))
	b, _ := os.ReadFile(p200)
	mustWrite(t, p200, b[:len(b)*2/3])
	mustWrite(t, filepath.Join(rec, partName(300)), b[:200])
	mustWrite(t, filepath.Join(rec, partName(50)), []byte("not a video"))

	r, err := Finalize(t.Context(), tl, rec)
	if err != nil {
		t.Fatal(err)
	}
	if r.Path != rec || r.Duration < 4*time.Second || r.Duration > 6*time.Second || r.Size <= 0 {
		t.Fatalf("finalized %+v: want 3 s and about 2 s of the cut part", r)
	}
	out, err := os.ReadFile(filepath.Join(rec, ReplayName))
	if err != nil || int64(len(out)) != r.Size {
		t.Fatalf("replay file: %d bytes (%v), measured %d", len(out), err, r.Size)
	}
	if m, d := bytes.Index(out, []byte("moov")), bytes.Index(out, []byte("mdat")); m < 0 || d < 0 || m > d {
		t.Fatalf("moov at %d, mdat at %d: the index is not in front", m, d)
	}
	left, _ := filepath.Glob(filepath.Join(rec, "*"))
	if len(left) != 1 {
		t.Fatalf("left in the folder: %v", left)
	}
	// Finalizing again (a recovery after a crash during the report) only
	// measures the file.
	again, err := Finalize(t.Context(), tl, rec)
	if err != nil || again != r {
		t.Fatalf("again %+v (%v), want %+v", again, err, r)
	}
	if _, err := Finalize(t.Context(), tl, t.TempDir()); !errors.Is(err, ErrNothingRecorded) {
		t.Fatalf("empty folder: %v", err)
	}
}

func mustWrite(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
