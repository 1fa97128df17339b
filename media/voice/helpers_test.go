package voice_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/onair-live/onair/media/ffmpeg"
	"github.com/onair-live/onair/media/voice"
)

// memStore keeps clips in memory; failSave makes SaveClip fail, block holds
// it until closed.
type memStore struct {
	mu       sync.Mutex
	clips    map[string]voice.Clip
	failSave error
	block    chan struct{}
	entered  chan struct{}
}

func newMemStore() *memStore { return &memStore{clips: map[string]voice.Clip{}} }

func (m *memStore) SaveClip(ctx context.Context, c voice.Clip) (voice.Clip, error) {
	if m.entered != nil {
		m.entered <- struct{}{}
	}
	if m.block != nil {
		<-m.block
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failSave != nil {
		return voice.Clip{}, m.failSave
	}
	c.CreatedAt = time.Now().UTC()
	m.clips[c.ID] = c
	return c, nil
}

func (m *memStore) Clip(_ context.Context, id string) (voice.Clip, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.clips[id]
	if !ok {
		return voice.Clip{}, fmt.Errorf("%w: %s", voice.ErrNotFound, id)
	}
	return c, nil
}

func (m *memStore) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.clips)
}

func tools(t testing.TB) ffmpeg.Tools {
	t.Helper()
	tl, err := ffmpeg.Find(ffmpeg.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

func newService(t testing.TB, cfg voice.Config, st voice.Store) *voice.Service {
	t.Helper()
	s, err := voice.New(cfg, tools(t), st, t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decoded is how long ffmpeg's decoder says data (read as demuxer) lasts:
// the samples it gives, independent of any stated or estimated length.
func decoded(t testing.TB, data []byte, demuxer string) time.Duration {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out.raw")
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := tools(t).RunFFmpeg(t.Context(), []string{"-hide_banner", "-nostdin", "-loglevel", "error",
		"-f", demuxer, "-i", in, "-ac", "1", "-ar", "8000", "-f", "s16le", "-y", out}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	return time.Duration(fi.Size()) * time.Second / 16000 // 8000 samples of 2 bytes a second
}

// repeatAMR is an AMR file whose frames are those of src n times over.
func repeatAMR(src []byte, n int) []byte {
	hdr := len("#!AMR\n")
	if bytes.HasPrefix(src, []byte("#!AMR-WB\n")) {
		hdr = len("#!AMR-WB\n")
	}
	out := append([]byte{}, src[:hdr]...)
	for range n {
		out = append(out, src[hdr:]...)
	}
	return out
}

// encode makes secs seconds of a tone with ffmpeg; extra are the output
// options (codec, container).
func encode(t testing.TB, secs float64, extra ...string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "tone")
	args := append([]string{"-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=330:sample_rate=48000",
		"-t", fmt.Sprint(secs)}, extra...)
	if err := tools(t).RunFFmpeg(t.Context(), append(args, "-y", out)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// browserWebM is what a browser's MediaRecorder writes: WebM with Opus, live
// (no duration, no cues).
func browserWebM(t testing.TB, secs float64) []byte {
	return encode(t, secs, "-c:a", "libopus", "-b:a", "32k", "-f", "webm", "-live", "1", "-cluster_time_limit", "1000")
}

// oggOpus is an Ogg/Opus file in stereo.
func oggOpus(t testing.TB, secs float64, bitrate string) []byte {
	return encode(t, secs, "-ac", "2", "-c:a", "libopus", "-b:a", bitrate, "-f", "ogg")
}

func pngImage(t testing.TB) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 16, 16))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// leftovers lists what is in the voice folder besides clips that exist.
func leftovers(t testing.TB, s *voice.Service) []string {
	t.Helper()
	entries, err := os.ReadDir(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
