package voice_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onair-live/onair/media/ffmpeg/ffmpegtest"
	"github.com/onair-live/onair/media/voice"
)

var room = voice.Scope{Kind: voice.ScopeRoom, ID: "star"}

func TestTranscodeArgsGolden(t *testing.T) {
	for _, k := range []voice.Kind{voice.AMRNB, voice.AMRWB, voice.WebM, voice.Ogg} {
		ffmpegtest.Golden(t, "transcode-"+strings.ToLower(k.String()), voice.TranscodeArgs("/data/voice/.work-1/in", "/data/voice/.work-1/out.ogg", k, 61500*time.Millisecond, 24000))
	}
}

func TestSniff(t *testing.T) {
	amr := []byte("#!AMR\n\x3c")
	for _, c := range []struct {
		name  string
		head  []byte
		claim string
		kind  voice.Kind
		err   error
		msg   string
	}{
		{"AMR-NB", amr, "", voice.AMRNB, nil, ""},
		{"AMR-WB", []byte("#!AMR-WB\n\x04"), "Ogg", voice.AMRWB, nil, ""},
		{"WebM", []byte("\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x84webm\x42\x87"), "", voice.WebM, nil, ""},
		{"Ogg/Opus", []byte("OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x34\x34\x9a\xab\x00\x00\x00\x00\xdc\xc0\xf3\x15\x01\x13OpusHead\x01\x01"), "", voice.Ogg, nil, ""},
		{"PNG as .amr", []byte("\x89PNG\r\n\x1a\n\x00\x00"), "AMR", 0, voice.ErrNotAudio, "a PNG is not an AMR file"},
		{"PNG", []byte("\x89PNG\r\n\x1a\n\x00\x00"), "", 0, voice.ErrNotAudio, "not audio: this is a PNG image"},
		{"JPEG as .ogg", []byte("\xff\xd8\xff\xe0"), "Ogg", 0, voice.ErrNotAudio, "a JPEG is not an Ogg file"},
		{"text", []byte("hello, this is not a recording\n"), "", 0, voice.ErrNotAudio, "not audio: this is text"},
		{"text as .webm", []byte("héllo"), "WebM", 0, voice.ErrNotAudio, "text is not a WebM file"},
		{"binary", []byte{0, 1, 2, 3, 250}, "", 0, voice.ErrNotAudio, "not audio: send a voice clip as AMR-NB, AMR-WB, WebM/Opus or Ogg/Opus"},
		{"empty", nil, "AMR", 0, voice.ErrNotAudio, "the file is empty"},
		{"MP3", []byte("ID3\x04\x00"), "", 0, voice.ErrUnsupported, "MP3 is not taken here"},
		{"MP4 as .webm", []byte("\x00\x00\x00\x20ftypM4A "), "WebM", 0, voice.ErrUnsupported, "MP4 is not a WebM file"},
		{"WAV", []byte("RIFF\x24\x00\x00\x00WAVEfmt "), "", 0, voice.ErrUnsupported, "WAV is not taken here"},
		{"Vorbis", []byte("OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x34\x34\x9a\xab\x00\x00\x00\x00\xdc\xc0\xf3\x15\x01\x1e\x01vorbis"), "Ogg", 0, voice.ErrUnsupported, "Ogg Vorbis is not taken here"},
		{"Matroska", []byte("\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska"), "WebM", 0, voice.ErrUnsupported, "Matroska is not taken here"},
	} {
		t.Run(c.name, func(t *testing.T) {
			k, err := voice.Sniff(c.head, c.claim)
			if k != c.kind || !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
				t.Fatalf("Sniff = %v, %v; want %v, %v", k, err, c.kind, c.err)
			}
			if err != nil && !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("refusal %q does not say %q", err, c.msg)
			}
		})
	}
}

func TestClaim(t *testing.T) {
	for _, c := range []struct{ name, ctype, want string }{
		{"voice.amr", "application/octet-stream", "AMR"},
		{"VOICE.AWB", "", "AMR"},
		{"blob", "audio/webm;codecs=opus", "WebM"},
		{"x.opus", "", "Ogg"},
		{"clip", "audio/ogg; codecs=opus", "Ogg"},
		{"photo.png", "image/png", ""},
		{"", "", ""},
	} {
		if got := voice.Claim(c.name, c.ctype); got != c.want {
			t.Errorf("Claim(%q, %q) = %q, want %q", c.name, c.ctype, got, c.want)
		}
	}
}

func FuzzSniff(f *testing.F) {
	for _, s := range []string{"#!AMR\n", "#!AMR-WB\n", "\x1a\x45\xdf\xa3\x42\x82\x84webm", "OggS OpusHead", "\x89PNG\r\n\x1a\n", "RIFF1234WAVE", "hello", ""} {
		f.Add([]byte(s), "AMR")
	}
	f.Fuzz(func(t *testing.T, head []byte, claim string) {
		k, err := voice.Sniff(head, claim)
		if err == nil && k.String() == "" {
			t.Fatalf("accepted %q as no kind", head)
		}
		if err != nil && !errors.Is(err, voice.ErrNotAudio) && !errors.Is(err, voice.ErrUnsupported) {
			t.Fatalf("refusal %v wraps neither sentinel", err)
		}
	})
}

// Each accepted format becomes mono Ogg/Opus of the right length, kept as
// <data>/voice/<id>.ogg and recorded.
func TestUploadFormats(t *testing.T) {
	st := newMemStore()
	s := newService(t, voice.Config{}, st)
	nb, wb := fixture(t, "speech-nb.amr"), fixture(t, "speech-wb.amr")
	for _, c := range []struct {
		name, file, ctype string
		data              []byte
		want              time.Duration
	}{
		{"AMR-NB", "voice.amr", "audio/amr", nb, decoded(t, nb, "amr")},
		{"AMR-WB", "voice.amr", "audio/amr-wb", wb, decoded(t, wb, "amr")},
		{"WebM/Opus from a browser", "blob", "audio/webm;codecs=opus", browserWebM(t, 3), 3 * time.Second},
		{"Ogg/Opus stereo", "clip.ogg", "audio/ogg", oggOpus(t, 4, "64k"), 4 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			clip, err := s.Upload(t.Context(), voice.Upload{Owner: "u1", Scope: room, Filename: c.file, ContentType: c.ctype, Body: bytes.NewReader(c.data)})
			if err != nil {
				t.Fatal(err)
			}
			if d := clip.Duration - c.want; math.Abs(d.Seconds()) > 0.2 {
				t.Fatalf("clip lasts %v, want %v ± 0.2 s", clip.Duration, c.want)
			}
			if !voice.ValidID(clip.ID) || clip.Owner != "u1" || clip.Scope != room || clip.CreatedAt.IsZero() {
				t.Fatalf("clip %+v", clip)
			}
			f, err := s.Open(clip.ID)
			if err != nil {
				t.Fatal(err)
			}
			fi, _ := f.Stat()
			f.Close()
			if fi.Size() != clip.Bytes {
				t.Fatalf("file has %d bytes, the clip says %d", fi.Size(), clip.Bytes)
			}
			info, err := tools(t).Probe(t.Context(), f.Name())
			if err != nil {
				t.Fatal(err)
			}
			a, _ := info.Audio()
			if info.Format != "ogg" || a.Codec != "opus" || a.Channels != 1 || len(info.Streams) != 1 {
				t.Fatalf("stored file %+v", info)
			}
			if d := info.Duration - c.want; math.Abs(d.Seconds()) > 0.2 {
				t.Fatalf("ffprobe says the stored file lasts %v, want %v ± 0.2 s", info.Duration, c.want)
			}
			got, err := s.Clip(t.Context(), clip.ID)
			if err != nil || got != clip {
				t.Fatalf("Clip(%s) = %+v, %v; want %+v", clip.ID, got, err, clip)
			}
		})
	}
	if names := leftovers(t, s); len(names) != 4 {
		t.Fatalf("the voice folder holds %q, want the 4 clips only", names)
	}
}

// Every refusal says why in words, and leaves no file and no record.
func TestUploadRefusals(t *testing.T) {
	nb := fixture(t, "speech-nb.amr")
	long := repeatAMR(nb, int(75*time.Second/decoded(t, nb, "amr"))+1) // 75 s and a bit
	longSays := "too long: " + strconv.FormatFloat(decoded(t, long, "amr").Round(100*time.Millisecond).Seconds(), 'f', -1, 64) + " s, the limit is 60 s"
	big := repeatAMR(nb, 1300<<10/len(nb)) // 1.3 MiB
	for _, c := range []struct {
		name, file, ctype string
		data              []byte
		err               error
		msg               string
	}{
		{"not audio", "notes.txt", "text/plain", []byte("meet me at 8\n"), voice.ErrNotAudio, "not audio: this is text"},
		{"a PNG renamed .amr", "voice.amr", "application/octet-stream", pngImage(t), voice.ErrNotAudio, "a PNG is not an AMR file"},
		{"truncated AMR", "voice.amr", "audio/amr", nb[:9], voice.ErrDamaged, "truncated AMR-NB: ffprobe could not read it"},
		{"too long", "voice.amr", "audio/amr", long, voice.ErrTooLong, longSays},
		{"too long without a stated length", "blob", "audio/webm", browserWebM(t, 63), voice.ErrTooLong, "too long: more than 60 s, the limit is 60 s"},
		{"too big", "voice.amr", "audio/amr", big, voice.ErrTooBig, "too big: more than 1 MiB, the limit is 1 MiB"},
		{"MP3", "voice.mp3", "audio/mpeg", []byte("ID3\x04\x00\x00\x00\x00\x00\x00"), voice.ErrUnsupported, "MP3 is not taken here"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := newMemStore()
			s := newService(t, voice.Config{}, st)
			_, err := s.Upload(t.Context(), voice.Upload{Owner: "u1", Scope: room, Filename: c.file, ContentType: c.ctype, Body: bytes.NewReader(c.data)})
			if !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("got %v, want %v saying %q", err, c.err, c.msg)
			}
			if names := leftovers(t, s); len(names) != 0 || st.len() != 0 {
				t.Fatalf("left behind: files %q, %d records", names, st.len())
			}
		})
	}
	t.Run("limits are configurable", func(t *testing.T) {
		s := newService(t, voice.Config{MaxDuration: 2 * time.Second, MaxBytes: 5000}, newMemStore())
		_, err := s.Upload(t.Context(), voice.Upload{Owner: "u1", Scope: room, Body: bytes.NewReader(nb[:4600])})
		if !errors.Is(err, voice.ErrTooLong) || !strings.Contains(err.Error(), "the limit is 2 s") {
			t.Fatalf("a 2.9 s clip over a 2 s limit: %v", err)
		}
		_, err = s.Upload(t.Context(), voice.Upload{Owner: "u1", Scope: room, Body: bytes.NewReader(nb)})
		if !errors.Is(err, voice.ErrTooBig) || !strings.Contains(err.Error(), "the limit is 5 KiB") {
			t.Fatalf("a 5.5 KiB clip over a 5000-byte limit: %v", err)
		}
	})
}

// A clip whose record cannot be saved is removed.
func TestSaveFailureLeavesNothing(t *testing.T) {
	st := newMemStore()
	st.failSave = errors.New("disk full")
	s := newService(t, voice.Config{}, st)
	_, err := s.Upload(t.Context(), voice.Upload{Owner: "u1", Scope: room, Body: bytes.NewReader(fixture(t, "speech-nb.amr"))})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("got %v", err)
	}
	if names := leftovers(t, s); len(names) != 0 {
		t.Fatalf("left behind %q", names)
	}
}

// With every slot taken and the queue full, an upload is refused at once with
// ErrBusy; queued ones go through when a slot frees, and one whose client
// gives up leaves nothing.
func TestBusy(t *testing.T) {
	st := newMemStore()
	st.block, st.entered = make(chan struct{}), make(chan struct{}, 4)
	s := newService(t, voice.Config{Concurrency: 1, Queue: 1}, st)
	nb := fixture(t, "speech-nb.amr")
	up := func(ctx context.Context) error {
		_, err := s.Upload(ctx, voice.Upload{Owner: "u1", Scope: room, Body: bytes.NewReader(nb)})
		return err
	}
	first, second := make(chan error, 1), make(chan error, 2)
	go func() { first <- up(t.Context()) }()
	<-st.entered // the first holds the only slot, saving
	// Two more: one takes the only place in the queue, the other is refused.
	for range 2 {
		go func() { second <- up(t.Context()) }()
	}
	select {
	case err := <-second:
		if !errors.Is(err, voice.ErrBusy) || !strings.Contains(err.Error(), "try again") {
			t.Fatalf("with the slot taken and the queue full: %v, want busy", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("neither queued upload was refused")
	}
	close(st.block)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatalf("the queued upload: %v", err)
	}
	// A queued upload whose client goes away leaves nothing.
	st.block, st.entered = make(chan struct{}), make(chan struct{}, 4)
	go func() { first <- up(t.Context()) }()
	<-st.entered
	ctx, cancel := context.WithCancel(t.Context())
	go func() { second <- up(ctx) }()
	time.Sleep(300 * time.Millisecond) // it has read its body and waits for the slot
	cancel()
	if err := <-second; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled while queued: %v", err)
	}
	close(st.block)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if names := leftovers(t, s); len(names) != 3 {
		t.Fatalf("voice folder %q, want the 3 clips that went through", names)
	}
}

func TestBadIDs(t *testing.T) {
	s := newService(t, voice.Config{}, newMemStore())
	for _, id := range []string{"", "../../etc/passwd", "01hzxkq5d2m7w8v9ab3c4d5e6f", "01HZXKQ5D2M7W8V9AB3C4D5E6F.ogg", "01HZXKQ5D2M7W8V9AB3C4D5E6"} {
		if _, err := s.Open(id); !errors.Is(err, voice.ErrNotFound) {
			t.Errorf("Open(%q) = %v", id, err)
		}
		if _, err := s.Clip(t.Context(), id); !errors.Is(err, voice.ErrNotFound) {
			t.Errorf("Clip(%q) = %v", id, err)
		}
	}
	if _, err := s.Open("01HZXKQ5D2M7W8V9AB3C4D5E6F"); !errors.Is(err, voice.ErrNotFound) {
		t.Errorf("Open of a valid id without a file: %v", err)
	}
	_, err := s.Upload(t.Context(), voice.Upload{Owner: "u1", Scope: voice.Scope{Kind: "channel", ID: "x"}, Body: io.LimitReader(nil, 0)})
	if !errors.Is(err, voice.ErrBadScope) {
		t.Errorf("an unknown scope: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := voice.DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (voice.Config{}).Validate(); err != nil {
		t.Fatalf("zero config (defaults): %v", err)
	}
	for _, c := range []voice.Config{{MaxBytes: 10}, {MaxDuration: time.Millisecond}, {Bitrate: 1}, {Concurrency: -1}, {Timeout: time.Millisecond}} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v validated", c)
		}
	}
}
