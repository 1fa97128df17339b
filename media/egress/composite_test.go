package egress

import (
	"errors"
	"fmt"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/onair-live/onair/media/ffmpeg"
	"github.com/onair-live/onair/media/ffmpeg/ffmpegtest"
)

func TestCompositeArgsGolden(t *testing.T) {
	off := false
	for _, c := range []struct {
		name string
		in   Input
		cfg  Config
		rec  string
	}{
		{"composite-2-h264", Input{Codec: "H264", Videos: 2, Audios: 2}, Config{}, ""},
		{"composite-3-vp8-recorded", Input{Codec: "VP8", Videos: 3, Audios: 3}, Config{}, "/data/recordings/01J0"},
		{"composite-4-snapshots-only", Input{Codec: "VP8", Videos: 4, Audios: 4}, Config{HLS: &off}, ""},
		{"composite-2-hls-only-one-voice", Input{Codec: "VP8", Videos: 2, Audios: 1}, Config{Snapshots: &off}, ""},
		{"room-audio-only", Input{Codec: "VP8", Audios: 2}, Config{}, ""},
		{"room-video-only", Input{Codec: "H264", Videos: 1}, Config{}, ""},
	} {
		args, err := roomArgs(c.cfg, c.in, "/data/egress/tv-1", c.rec, 1700000000000)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		ffmpegtest.Golden(t, c.name, args)
	}
	args, err := PushArgs(Config{}, Input{Codec: "H264", Videos: 2, Audios: 2}, "rtmp://live.example.com/app/KEY")
	if err != nil {
		t.Fatal(err)
	}
	ffmpegtest.Golden(t, "push-composite-2", args)
}

func TestCompositeSize(t *testing.T) {
	for n, want := range map[int]string{1: "1280x720", 2: "1280x360", 3: "1280x720", 4: "1280x720"} {
		if w, h := (Config{}).CompositeSize(n); fmt.Sprintf("%dx%d", w, h) != want {
			t.Errorf("%d co-hosts: %dx%d, want %s", n, w, h, want)
		}
	}
	// Odd halves round down to even sizes.
	if w, h := (Config{Width: 642, Height: 362}).CompositeSize(2); w != 640 || h != 180 {
		t.Errorf("642x362 halves: %dx%d", w, h)
	}
}

// An audio-only room with only snapshots on has nothing to make.
func TestNothingToMake(t *testing.T) {
	off := false
	if _, err := RoomArgs(Config{HLS: &off}, Input{Codec: "VP8", Audios: 1}, "/d", 1); !errors.Is(err, errNoOutput) {
		t.Fatalf("audio-only snapshots: %v", err)
	}
	if _, err := PushArgs(Config{}, Input{Codec: "VP8"}, "rtmp://h/a/k"); !errors.Is(err, errNoOutput) {
		t.Fatalf("push of nothing: %v", err)
	}
}

// Two co-hosts, one of them 4:3 and small, are laid out side by side in HLS,
// the snapshot and the recording; a later run with one co-host has another
// picture, and the recording's parts still join into one MP4 that plays
// throughout, at the larger picture.
func TestCompositeWithRealFFmpeg(t *testing.T) {
	tl := realTools(t)
	live, rec := t.TempDir(), t.TempDir()
	cfg := Config{Width: 640, Height: 360}
	args, err := roomArgs(cfg, Input{Codec: "VP8", Videos: 2, Audios: 2}, live, rec, 100)
	if err != nil {
		t.Fatal(err)
	}
	lavfiRunFrom(t, tl, args, "3", "testsrc2=s=640x360:r=30[out0];testsrc=s=160x120:r=15[out1];sine=f=440:r=48000[out2];sine=f=220:r=48000[out3]")
	info, err := tl.Probe(t.Context(), filepath.Join(live, playlistName))
	if err != nil {
		t.Fatal(err)
	}
	v, a := firstOf(info, "video"), firstOf(info, "audio")
	if v.Width != 640 || v.Height != 180 || v.Codec != "h264" || a.Codec != "aac" {
		t.Fatalf("HLS of two co-hosts: %+v, want 640x180 H.264 (two 320x180 tiles) and AAC", info.Streams)
	}
	f, err := os.Open(filepath.Join(live, snapshotName))
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.DecodeConfig(f)
	_ = f.Close()
	if err != nil || img.Width != 640 || img.Height != 180 {
		t.Fatalf("snapshot %dx%d (%v), want the layout's 640x180", img.Width, img.Height, err)
	}

	args, err = roomArgs(cfg, Single("VP8"), live, rec, 200)
	if err != nil {
		t.Fatal(err)
	}
	lavfiRun(t, tl, args, "2")
	r, err := Finalize(t.Context(), tl, rec)
	if err != nil {
		t.Fatal(err)
	}
	out, err := tl.Probe(t.Context(), filepath.Join(rec, ReplayName))
	if err != nil {
		t.Fatal(err)
	}
	if v := firstOf(out, "video"); v.Width != 640 || v.Height != 360 || r.Duration < 4500*time.Millisecond || r.Duration > 5500*time.Millisecond {
		t.Fatalf("joined recording %+v, %v: want 640x360 and 5 s", out.Streams, r.Duration)
	}
	if firstOf(out, "audio").Codec != "aac" {
		t.Fatalf("joined recording has no sound: %+v", out.Streams)
	}
}

func firstOf(i ffmpeg.Info, kind string) ffmpeg.Stream {
	for _, s := range i.Streams {
		if s.Type == kind {
			return s
		}
	}
	return ffmpeg.Stream{}
}

func TestJoinArgsGolden(t *testing.T) {
	ps := []part{
		{name: "part-1.mp4", codec: "h264", width: 1280, height: 720, audio: true, duration: 5 * time.Second},
		{name: "part-2.mp4", codec: "h264", width: 1280, height: 360, duration: 2500 * time.Millisecond},
	}
	if copyable(ps) || !copyable(ps[:1]) {
		t.Fatal("copyable")
	}
	ffmpegtest.Golden(t, "join", JoinArgs("/data/recordings/01J0", ps, "/data/recordings/01J0/replay.tmp.mp4"))
}
