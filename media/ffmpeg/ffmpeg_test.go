package ffmpeg_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/onair-live/onair/media/ffmpeg"
	"github.com/onair-live/onair/media/ffmpeg/ffmpegtest"
)

// tools finds the real ffmpeg and ffprobe; the tests never skip without them.
func tools(t testing.TB) ffmpeg.Tools {
	t.Helper()
	tl, err := ffmpeg.Find(ffmpeg.DefaultConfig())
	if err != nil {
		t.Fatalf("%v", err)
	}
	return tl
}

// sineArgs makes secs seconds of a 440 Hz tone, encoded by codec into out.
func sineArgs(secs, codec, out string) []string {
	return []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", secs, "-c:a", codec, "-y", out}
}

func TestProbeArgsGolden(t *testing.T) {
	ffmpegtest.Golden(t, "probe", ffmpeg.ProbeArgs("/data/voice/in", ""))
	ffmpegtest.Golden(t, "probe-amr", ffmpeg.ProbeArgs("/data/voice/in", "amr"))
}

func TestProbe(t *testing.T) {
	tl := tools(t)
	ctx := t.Context()
	out := filepath.Join(t.TempDir(), "tone.ogg")
	if err := tl.RunFFmpeg(ctx, sineArgs("2", "libopus", out)); err != nil {
		t.Fatal(err)
	}
	info, err := tl.Probe(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	a, ok := info.Audio()
	if info.Format != "ogg" || !ok || a.Codec != "opus" || a.SampleRate != 48000 || a.Channels != 1 || info.Size == 0 {
		t.Fatalf("probe %+v", info)
	}
	if d := info.Duration - 2*time.Second; d < -100*time.Millisecond || d > 100*time.Millisecond {
		t.Fatalf("duration %v, want 2 s", info.Duration)
	}
	// The same file read as another container fails, in words.
	_, err = tl.ProbeAs(ctx, out, "amr")
	var ee *ffmpeg.ExitError
	if !errors.As(err, &ee) || ee.Code == 0 || !strings.Contains(err.Error(), "tone.ogg: Invalid data found when processing input") {
		t.Fatalf("probe as AMR: %v", err)
	}
}

// A failure says what the tool said, without the server's folders or libav's
// memory addresses.
func TestErrorIsReadable(t *testing.T) {
	tl := tools(t)
	dir := t.TempDir()
	notes := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notes, []byte("shopping: milk, bread\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := tl.RunFFmpeg(t.Context(), []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-f", "amr", "-i", "file:" + notes, "-f", "null", "-"})
	var ee *ffmpeg.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("got %v, want an *ExitError", err)
	}
	msg := err.Error()
	if strings.Contains(msg, dir) || strings.Contains(msg, " @ 0x") || !strings.HasPrefix(msg, "ffmpeg failed (exit status ") || !strings.Contains(msg, "notes.txt") {
		t.Fatalf("error %q", msg)
	}
	if !strings.Contains(ee.Stderr, dir) {
		t.Fatalf("the raw stderr (for logs) lost the path: %q", ee.Stderr)
	}
}

func TestReason(t *testing.T) {
	e := &ffmpeg.ExitError{Tool: "ffmpeg", Code: 69, Args: []string{"-i", "file:/srv/data/voice/tmp-1/in", "/srv/data/voice/tmp-1/out.ogg"},
		Stderr: "[amrnb @ 0x55d1c0a3e9c0] Corrupt bitstream\r\nError while decoding stream #0:0: Invalid data\n" +
			"Error while decoding stream #0:0: Invalid data\n\n/srv/data/voice/tmp-1/out.ogg: I/O error\nfile:/srv/data/voice/tmp-1/in: short\n"}
	want := "Error while decoding stream #0:0: Invalid data; out.ogg: I/O error; in: short"
	if got := e.Reason(); got != want {
		t.Fatalf("Reason() = %q\nwant       %q", got, want)
	}
	if got := e.Error(); got != "ffmpeg failed (exit status 69): "+want {
		t.Fatalf("Error() = %q", got)
	}
	e.Stderr = "[amrnb @ 0xABC] Corrupt bitstream\n"
	if got := e.Reason(); got != "amrnb: Corrupt bitstream" {
		t.Fatalf("Reason() = %q", got)
	}
	// A URL argument is not a server folder: it stays whole.
	e = &ffmpeg.ExitError{Tool: "ffmpeg", Code: 1, Args: []string{"-f", "flv", "rtmp://192.0.2.7/live/stream"},
		Stderr: "rtmp://192.0.2.7/live/stream: Connection refused\n"}
	if got := e.Reason(); got != "rtmp://192.0.2.7/live/stream: Connection refused" {
		t.Fatalf("Reason() = %q", got)
	}
	if got := (&ffmpeg.ExitError{Tool: "ffprobe", Code: -1}).Error(); got != "ffprobe failed (killed by a signal)" {
		t.Fatalf("Error() = %q", got)
	}
}

func TestFindNotFound(t *testing.T) {
	_, err := ffmpeg.Find(ffmpeg.Config{FFmpegPath: filepath.Join(t.TempDir(), "ffmpeg")})
	if !errors.Is(err, ffmpeg.ErrNotFound) || !strings.Contains(err.Error(), "apt-get install ffmpeg") {
		t.Fatalf("got %v", err)
	}
	tl := tools(t)
	if !filepath.IsAbs(tl.FFmpeg) || !filepath.IsAbs(tl.FFprobe) {
		t.Fatalf("Find gave %+v, want absolute paths", tl)
	}
}

// Cancelling the context stops the whole process group: the child the process
// started dies with it.
func TestCancelKillsGroup(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// A shell stands in for a tool that starts a helper process.
	p, err := ffmpeg.Start(ctx, ffmpeg.Cmd{Path: "/bin/sh", Args: []string{"-c", "sleep 60 & echo $!; wait"}, Stdout: w})
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 32)
	n, err := r.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	child, err := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	if err != nil {
		t.Fatalf("child pid %q: %v", buf[:n], err)
	}
	if pgid, err := syscall.Getpgid(child); err != nil || pgid != p.Pid() {
		t.Fatalf("child's group %d (%v), want %d", pgid, err, p.Pid())
	}
	start := time.Now()
	cancel()
	if err := p.Wait(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait after cancel: %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Wait took %v after cancel", d)
	}
	deadline := time.Now().Add(5 * time.Second)
	for alive(child) {
		if time.Now().After(deadline) {
			t.Fatalf("the child %d outlived its group", child)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive: the process exists and is not a zombie waiting for a reaper.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

// With Interrupt, ffmpeg gets SIGINT first and finishes its file: what it
// wrote is a complete Ogg of about the time it ran.
func TestInterruptLetsFFmpegFinish(t *testing.T) {
	tl := tools(t)
	out := filepath.Join(t.TempDir(), "live.ogg")
	ctx, cancel := context.WithCancel(t.Context())
	var mu sync.Mutex
	var lines []string
	p, err := ffmpeg.Start(ctx, ffmpeg.Cmd{Path: tl.FFmpeg, Interrupt: 5 * time.Second,
		Args: []string{"-hide_banner", "-nostdin", "-loglevel", "info", "-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
			"-c:a", "libopus", "-y", out},
		OnStderr: func(l string) { mu.Lock(); lines = append(lines, l); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	cancel()
	if err := p.Wait(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait: %v", err)
	}
	info, err := tl.Probe(t.Context(), out)
	if err != nil {
		t.Fatalf("the interrupted output is not readable: %v", err)
	}
	if info.Duration < 500*time.Millisecond || info.Duration > 3*time.Second {
		t.Fatalf("interrupted after 1.5 s, the file lasts %v", info.Duration)
	}
	mu.Lock()
	defer mu.Unlock()
	progress := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "size=") {
			progress++
		}
	}
	if progress == 0 {
		t.Fatalf("no progress line among %d stderr lines: %q", len(lines), lines)
	}
}

func TestProgressWriter(t *testing.T) {
	var got []ffmpeg.Progress
	w := ffmpeg.ProgressWriter(func(p ffmpeg.Progress) { got = append(got, p) })
	out := "frame=12\nfps=29.97\nstream_0_0_q=-1.0\nbitrate=N/A\ntotal_size=4096\nout_time_us=400000\nout_time=00:00:00.400000\nspeed=0.99x\nprogress=continue\n" +
		"frame=42\nfps=30.00\ntotal_size=N/A\nout_time_us=N/A\nspeed=N/A\nprogress=end\n"
	// Written in pieces that split lines, as a pipe may deliver it.
	for len(out) > 0 {
		n := min(7, len(out))
		if k, err := w.Write([]byte(out[:n])); k != n || err != nil {
			t.Fatalf("Write = %d, %v", k, err)
		}
		out = out[n:]
	}
	want := []ffmpeg.Progress{
		{Frame: 12, FPS: 29.97, OutTime: 400 * time.Millisecond, Size: 4096, Speed: 0.99},
		{Frame: 42, FPS: 30, End: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("progress %+v\nwant %+v", got, want)
	}
}

// A real run reports its progress through ProgressArgs and ProgressWriter.
func TestProgressFromFFmpeg(t *testing.T) {
	tl := tools(t)
	var mu sync.Mutex
	var last ffmpeg.Progress
	args := append([]string{"-hide_banner", "-nostdin", "-loglevel", "error"}, ffmpeg.ProgressArgs(100*time.Millisecond)...)
	args = append(args, "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-f", "null", "-")
	err := ffmpeg.Run(t.Context(), ffmpeg.Cmd{Path: tl.FFmpeg, Args: args, Stdout: ffmpeg.ProgressWriter(func(p ffmpeg.Progress) { mu.Lock(); last = p; mu.Unlock() })})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !last.End || last.Frame != 50 || last.OutTime < 1900*time.Millisecond {
		t.Fatalf("last progress %+v, want the end of 50 frames, 2 s", last)
	}
}
