package client

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// makeMedia runs ffmpeg to write a test file into a temporary folder and
// returns its path. ffmpeg is a required test dependency: without it the
// test fails rather than skips.
func makeMedia(t *testing.T, name string, args ...string) string {
	t.Helper()
	bin := "/usr/bin/ffmpeg"
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("ffmpeg"); err != nil {
			t.Fatalf("ffmpeg is required to make test media and was not found at /usr/bin/ffmpeg or in PATH "+
				"(install it: apt-get install ffmpeg): %v", err)
		}
	}
	out := filepath.Join(t.TempDir(), name)
	args = append([]string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y"}, append(args, out)...)
	cmd := exec.Command(bin, args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return out
}

// playFor reads samples until their durations add up to d (within a
// millisecond: 1/30 s is not a whole number of nanoseconds) and returns them
// with the wall-clock time it took.
func playFor(t *testing.T, s Source, d time.Duration) ([]media.Sample, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*d+5*time.Second)
	defer cancel()
	var samples []media.Sample
	var total time.Duration
	start := time.Now()
	for total < d-time.Millisecond {
		smp, err := s.NextSample(ctx)
		if err != nil {
			t.Fatalf("NextSample after %d samples: %v", len(samples), err)
		}
		if smp.Duration <= 0 || len(smp.Data) == 0 {
			t.Fatalf("sample %d: duration %v, %d bytes", len(samples), smp.Duration, len(smp.Data))
		}
		samples = append(samples, smp)
		total += smp.Duration
	}
	return samples, time.Since(start)
}

// checkPace fails unless elapsed is roughly real time for media of length d:
// the last sample is released one duration before d, and a loaded machine
// may be late, so the range is generous.
func checkPace(t *testing.T, elapsed, d time.Duration) {
	t.Helper()
	if elapsed < d*8/10 || elapsed > d*2 {
		t.Errorf("playing %v of media took %v, want about %v", d, elapsed, d)
	}
}

func isVP8KeyFrameData(b []byte) bool { return len(b) > 0 && b[0]&0x01 == 0 }

func TestIVFSourcePacesAndLoops(t *testing.T) {
	t.Parallel()
	path := makeMedia(t, "x.ivf", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "2",
		"-c:v", "libvpx", "-g", "30", "-deadline", "realtime")
	s, err := OpenIVF(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if c := s.Codec(); c.MimeType != webrtc.MimeTypeVP8 || c.ClockRate != 90000 {
		t.Fatalf("codec %+v", c)
	}
	samples, elapsed := playFor(t, s, 2*time.Second)
	checkPace(t, elapsed, 2*time.Second)
	if len(samples) != 60 {
		t.Errorf("%d frames in 2 s, want 60", len(samples))
	}
	for i, smp := range samples {
		if smp.Duration < 33*time.Millisecond || smp.Duration > 34*time.Millisecond {
			t.Fatalf("frame %d lasts %v, want 1/30 s", i, smp.Duration)
		}
		if want := i%30 == 0; isVP8KeyFrameData(smp.Data) != want {
			t.Errorf("frame %d: keyframe %v, want %v (-g 30)", i, !want, want)
		}
	}
	// The file ends after 60 frames and starts over with its keyframe.
	more, _ := playFor(t, s, 100*time.Millisecond)
	if !isVP8KeyFrameData(more[0].Data) || !bytes.Equal(more[0].Data, samples[0].Data) {
		t.Error("after the last frame the source did not start over from the first")
	}
}

func TestOggSourcePacesAndLoops(t *testing.T) {
	t.Parallel()
	path := makeMedia(t, "x.ogg", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "2", "-c:a", "libopus")
	s, err := OpenOgg(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if c := s.Codec(); c.MimeType != webrtc.MimeTypeOpus || c.ClockRate != 48000 || c.Channels != 2 {
		t.Fatalf("codec %+v", c)
	}
	samples, elapsed := playFor(t, s, 2*time.Second)
	checkPace(t, elapsed, 2*time.Second)
	for i, smp := range samples {
		if smp.Duration != 20*time.Millisecond {
			t.Fatalf("packet %d lasts %v, want 20ms (libopus default)", i, smp.Duration)
		}
		if bytes.HasPrefix(smp.Data, []byte("Opus")) {
			t.Fatalf("packet %d is an Ogg header: %q", i, smp.Data[:8])
		}
	}
	// Packets are split out of pages: far more than one per page.
	if len(samples) != 100 {
		t.Errorf("%d packets for 2 s, want 100", len(samples))
	}
	// It goes on past the end of the 2 s file.
	if more, _ := playFor(t, s, 300*time.Millisecond); len(more) != 15 {
		t.Errorf("%d packets in 300 ms after the first 2 s, want 15", len(more))
	}
}

func TestH264SourceAccessUnits(t *testing.T) {
	t.Parallel()
	path := makeMedia(t, "x.h264", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "1",
		"-c:v", "libx264", "-profile:v", "baseline", "-g", "15", "-bf", "0", "-f", "h264")
	s, err := OpenH264(path, 30)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if c := s.Codec(); c.MimeType != webrtc.MimeTypeH264 || !strings.Contains(c.SDPFmtpLine, "profile-level-id=42c0") ||
		!strings.Contains(c.SDPFmtpLine, "packetization-mode=1") {
		t.Fatalf("codec %+v, want a constrained baseline profile-level-id from the SPS", c)
	}
	samples, elapsed := playFor(t, s, time.Second+time.Second/2)
	checkPace(t, elapsed, time.Second+time.Second/2)
	if len(samples) != 45 {
		t.Fatalf("%d access units in 1.5 s at 30 fps, want 45", len(samples))
	}
	for i, smp := range samples {
		var types []byte
		for _, nal := range bytes.Split(smp.Data, []byte{0, 0, 0, 1}) {
			if len(nal) > 0 {
				types = append(types, nal[0]&0x1f)
			}
		}
		pictures := 0
		for _, ty := range types {
			if ty == 1 || ty == 5 {
				pictures++
			}
		}
		if pictures != 1 {
			t.Fatalf("access unit %d has NAL types %v: %d pictures, want 1", i, types, pictures)
		}
		// The file has 30 frames with an IDR every 15; the second pass
		// starts at frame 30 with the parameter sets and an IDR again.
		idr := bytes.Contains(types, []byte{5})
		if want := i%15 == 0; idr != want {
			t.Errorf("access unit %d has NAL types %v, IDR want %v", i, types, want)
		}
		if i%30 == 0 && !bytes.Contains(types, []byte{7}) {
			t.Errorf("access unit %d has NAL types %v, want an SPS", i, types)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk")
	if err := os.WriteFile(junk, []byte("this is not media at all, not even close to it"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenIVF(filepath.Join(dir, "missing.ivf")); err == nil {
		t.Error("OpenIVF of a missing file succeeded")
	}
	if _, err := OpenIVF(junk); err == nil {
		t.Error("OpenIVF of junk succeeded")
	}
	if _, err := OpenOgg(junk); err == nil {
		t.Error("OpenOgg of junk succeeded")
	}
	if _, err := OpenH264(junk, 30); err == nil {
		t.Error("OpenH264 of junk succeeded")
	}
	if _, err := OpenH264(junk, 0); err == nil {
		t.Error("OpenH264 at 0 fps succeeded")
	}
}

func TestOpusDuration(t *testing.T) {
	tests := []struct {
		packet []byte
		want   time.Duration
	}{
		{[]byte{0xf8, 0xff, 0xfe}, 20 * time.Millisecond}, // config 31 CELT 20 ms, code 0
		{[]byte{0x78, 0x00}, 20 * time.Millisecond},       // config 15 hybrid 20 ms
		{[]byte{0x08}, 20 * time.Millisecond},             // config 1 SILK 20 ms
		{[]byte{0x18}, 60 * time.Millisecond},             // config 3 SILK 60 ms
		{[]byte{0xe0}, 2500 * time.Microsecond},           // config 28 CELT 2.5 ms
		{[]byte{0xf9, 0x00}, 40 * time.Millisecond},       // code 1: two frames
		{[]byte{0xfa, 0x00}, 40 * time.Millisecond},       // code 2: two frames
		{[]byte{0xfb, 0x03, 0x00}, 60 * time.Millisecond}, // code 3: three frames
		{[]byte{0xfb, 0x07, 0x00}, 0},                     // 140 ms: too long
		{[]byte{0xfb}, 0},                                 // code 3 without a count
		{nil, 0},
	}
	for _, tt := range tests {
		got, err := opusDuration(tt.packet)
		if (err != nil) != (tt.want == 0) || got != tt.want {
			t.Errorf("opusDuration(%x) = %v, %v; want %v", tt.packet, got, err, tt.want)
		}
	}
}

// The pacer releases samples on a fixed schedule: one late wake-up does not
// push back the ones after it.
func TestPacerDoesNotDrift(t *testing.T) {
	var p pacer
	ctx := context.Background()
	start := time.Now()
	for i := range 20 {
		if err := p.wait(ctx, 10*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if i == 5 {
			time.Sleep(35 * time.Millisecond) // a slow consumer
		}
	}
	// 20 samples of 10 ms: the 20th is due at 190 ms whatever the stall.
	if elapsed := time.Since(start); elapsed < 180*time.Millisecond || elapsed > 400*time.Millisecond {
		t.Errorf("20 samples of 10 ms released over %v, want about 190ms", elapsed)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := p.wait(cctx, time.Hour); err == nil {
		t.Error("wait with a cancelled context succeeded")
	}
}
