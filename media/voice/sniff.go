package voice

import (
	"bytes"
	"fmt"
	"path"
	"strings"
	"unicode/utf8"
)

// Kind is an accepted input format.
type Kind int

// The accepted formats.
const (
	AMRNB Kind = iota + 1
	AMRWB
	WebM
	Ogg
)

var kinds = map[Kind]struct {
	name      string // for people
	demuxer   string // ffmpeg's -f
	codec     string // the codec ffprobe must find
	codecName string // and its name for people
}{
	AMRNB: {"AMR-NB", "amr", "amr_nb", "AMR-NB"},
	AMRWB: {"AMR-WB", "amr", "amr_wb", "AMR-WB"},
	WebM:  {"WebM", "matroska", "opus", "Opus"},
	Ogg:   {"Ogg", "ogg", "opus", "Opus"},
}

func (k Kind) String() string { return kinds[k].name }

// sniffLen is how much of the start of a file Sniff looks at.
const sniffLen = 512

// ebmlDocTypeWebM is the EBML DocType element (ID 42 82, size 4) saying "webm",
// as Chromium's and Firefox's MediaRecorder write it in the EBML header.
var ebmlDocTypeWebM = []byte("\x42\x82\x84webm")

// Sniff tells an accepted format from the first bytes of a file (up to 512).
// A refusal wraps ErrNotAudio or ErrUnsupported and names what the bytes are
// when they are something well known, against claim: the family ("AMR",
// "WebM", "Ogg") the client's file name or content type claimed, if any.
func Sniff(head []byte, claim string) (Kind, error) {
	if len(head) > sniffLen {
		head = head[:sniffLen]
	}
	switch {
	case bytes.HasPrefix(head, []byte("#!AMR\n")):
		return AMRNB, nil
	case bytes.HasPrefix(head, []byte("#!AMR-WB\n")):
		return AMRWB, nil
	case bytes.HasPrefix(head, []byte("\x1a\x45\xdf\xa3")):
		if bytes.Contains(head[:min(len(head), 64)], ebmlDocTypeWebM) {
			return WebM, nil
		}
		return 0, refuse(ErrUnsupported, "Matroska", "", "") // a claim of WebM is half right: say only what it is
	case bytes.HasPrefix(head, []byte("OggS")):
		switch {
		case bytes.Contains(head, []byte("OpusHead")):
			return Ogg, nil
		case bytes.Contains(head, []byte("\x01vorbis")):
			return 0, refuse(ErrUnsupported, "Ogg Vorbis", "", "")
		}
		return 0, refuse(ErrUnsupported, "Ogg without Opus", "", "")
	}
	for _, m := range others {
		if m.match(head) {
			return 0, refuse(m.err, m.short, m.long, claim)
		}
	}
	switch {
	case len(head) == 0:
		return 0, fmt.Errorf("%w: the file is empty; send a voice clip as %s", ErrNotAudio, formats)
	case isText(head):
		return 0, refuse(ErrNotAudio, "text", "text", claim)
	}
	return 0, refuse(ErrNotAudio, "", "", claim)
}

// refuse words a refusal. short names the bytes in a sentence ("a PNG",
// "MP3", "text"), long on its own ("a PNG image"): "a PNG is not an AMR file"
// when the client claimed AMR, else "not audio: this is a PNG image".
func refuse(sentinel error, short, long, claim string) error {
	switch {
	case short != "" && claim != "":
		return fmt.Errorf("%w: %s is not %s file; send a voice clip as %s", sentinel, short, withArticle(claim), formats)
	case sentinel == ErrUnsupported:
		return fmt.Errorf("%w: %s is not taken here; send a voice clip as %s", sentinel, short, formats)
	case long != "":
		return fmt.Errorf("%w: this is %s; send a voice clip as %s", sentinel, long, formats)
	}
	return fmt.Errorf("%w: send a voice clip as %s", sentinel, formats)
}

func withArticle(family string) string {
	if family == "AMR" || family == "Ogg" { // "an ay-em-ar"
		return "an " + family
	}
	return "a " + family
}

// others are well-known formats that are not voice clips, named in refusals.
var others = []struct {
	short, long string
	err         error
	match       func([]byte) bool
}{
	{"a PNG", "a PNG image", ErrNotAudio, prefix("\x89PNG\r\n\x1a\n")},
	{"a JPEG", "a JPEG image", ErrNotAudio, prefix("\xff\xd8\xff")},
	{"a GIF", "a GIF image", ErrNotAudio, func(b []byte) bool {
		return bytes.HasPrefix(b, []byte("GIF87a")) || bytes.HasPrefix(b, []byte("GIF89a"))
	}},
	{"a WebP", "a WebP image", ErrNotAudio, riff("WEBP")},
	{"a PDF", "a PDF document", ErrNotAudio, prefix("%PDF-")},
	{"a ZIP", "a ZIP archive", ErrNotAudio, prefix("PK\x03\x04")},
	{"WAV", "", ErrUnsupported, riff("WAVE")},
	{"FLAC", "", ErrUnsupported, prefix("fLaC")},
	{"MP3", "", ErrUnsupported, func(b []byte) bool {
		return bytes.HasPrefix(b, []byte("ID3")) || len(b) > 1 && b[0] == 0xff && b[1]&0xe6 == 0xe2 // MPEG audio layer III frame sync
	}},
	{"AAC", "", ErrUnsupported, func(b []byte) bool { return len(b) > 1 && b[0] == 0xff && b[1]&0xf6 == 0xf0 }}, // ADTS
	{"MP4", "", ErrUnsupported, func(b []byte) bool { return len(b) >= 12 && string(b[4:8]) == "ftyp" }},
}

func prefix(p string) func([]byte) bool {
	return func(b []byte) bool { return bytes.HasPrefix(b, []byte(p)) }
}

func riff(form string) func([]byte) bool {
	return func(b []byte) bool { return len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == form }
}

// isText: valid UTF-8 (a character cut at the end of head is fine) without
// control characters other than white space.
func isText(b []byte) bool {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			return len(b) < utf8.UTFMax && !utf8.FullRune(b)
		}
		if r < 0x20 && r != '\n' && r != '\r' && r != '\t' || r == 0x7f {
			return false
		}
		b = b[n:]
	}
	return true
}

// Claim is the family a client's file name or content type says a file is:
// "AMR", "WebM", "Ogg", or "" when it says nothing we take.
func Claim(filename, contentType string) string {
	ct, _, _ := strings.Cut(strings.ToLower(contentType), ";")
	switch strings.TrimSpace(ct) {
	case "audio/amr", "audio/amr-wb", "audio/3gpp":
		return "AMR"
	case "audio/webm", "video/webm":
		return "WebM"
	case "audio/ogg", "audio/opus", "application/ogg":
		return "Ogg"
	}
	switch strings.ToLower(path.Ext(filename)) {
	case ".amr", ".awb":
		return "AMR"
	case ".webm", ".weba":
		return "WebM"
	case ".ogg", ".oga", ".opus":
		return "Ogg"
	}
	return ""
}
