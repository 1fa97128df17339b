package client

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// OggSource plays the Opus packets of an Ogg file (RFC 7845) in a loop, each
// for the duration its TOC byte gives (RFC 6716 section 3.1).
//
// An Ogg page usually holds many Opus packets. pion's oggreader returns a
// page's payload without its segment table, so the source records the bytes
// the reader consumes and takes the lacing values from the page header to
// split the payload into packets.
type OggSource struct {
	f    *os.File
	rec  recorder
	r    *oggreader.OggReader
	pace pacer

	queue   [][]byte // packets of the current page not returned yet
	partial []byte   // a packet continued on the next page
}

// recorder is an io.Reader that keeps a copy of what passes through it.
type recorder struct {
	r   io.Reader
	buf []byte
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.buf = append(r.buf, p[:n]...)
	return n, err
}

// oggPageHeaderLen is the fixed part of an Ogg page header; the segment
// count is its last byte (RFC 3533 section 6).
const oggPageHeaderLen = 27

// OpenOgg opens an Ogg/Opus file.
func OpenOgg(path string) (*OggSource, error) {
	return openLooping(path, func(f *os.File) *OggSource { return &OggSource{f: f} })
}

func (s *OggSource) rewind() error {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	s.rec = recorder{r: bufio.NewReader(s.f)}
	r, _, err := oggreader.NewWith(&s.rec) // reads the OpusHead page
	if err != nil {
		return err
	}
	s.r, s.queue, s.partial = r, s.queue[:0], nil
	return nil
}

// readPage splits the next page into packets.
func (s *OggSource) readPage() error {
	s.rec.buf = s.rec.buf[:0]
	payload, _, err := s.r.ParseNextPage()
	if err != nil {
		return err
	}
	h := s.rec.buf
	if len(h) < oggPageHeaderLen || len(h) < oggPageHeaderLen+int(h[oggPageHeaderLen-1]) {
		return errors.New("onair: short Ogg page header")
	}
	lacing := h[oggPageHeaderLen : oggPageHeaderLen+int(h[oggPageHeaderLen-1])]
	off := 0
	for _, l := range lacing {
		if off+int(l) > len(payload) {
			return errors.New("onair: Ogg segment table larger than the page")
		}
		s.partial = append(s.partial, payload[off:off+int(l)]...)
		off += int(l)
		if l < 255 { // a lacing value below 255 ends a packet
			p := s.partial
			s.partial = nil
			if len(p) > 0 && !bytes.HasPrefix(p, []byte("OpusTags")) {
				s.queue = append(s.queue, p)
			}
		}
	}
	return nil
}

// Codec implements Source.
func (s *OggSource) Codec() webrtc.RTPCodecCapability { return opusCodec() }

// NextSample implements Source.
func (s *OggSource) NextSample(ctx context.Context) (media.Sample, error) {
	for rewound := false; len(s.queue) == 0; {
		if err := s.readPage(); err != nil {
			if rewound {
				return media.Sample{}, fmt.Errorf("onair: Ogg file has no Opus packets: %w", err)
			}
			if err := s.rewind(); err != nil {
				return media.Sample{}, err
			}
			rewound = true
			continue
		}
		if len(s.queue) > 0 {
			break
		}
	}
	p := s.queue[0]
	s.queue = s.queue[1:]
	d, err := opusDuration(p)
	if err != nil {
		return media.Sample{}, err
	}
	if err := s.pace.wait(ctx, d); err != nil {
		return media.Sample{}, err
	}
	return media.Sample{Data: p, Duration: d}, nil
}

// Close implements Source.
func (s *OggSource) Close() error { return s.f.Close() }

// opusDuration returns the duration of an Opus packet from its TOC byte and,
// for code 3, its frame count byte (RFC 6716 section 3.1 and 3.2.5).
func opusDuration(p []byte) (time.Duration, error) {
	if len(p) == 0 {
		return 0, errors.New("onair: empty Opus packet")
	}
	config := p[0] >> 3
	var frame time.Duration
	switch {
	case config < 12: // SILK-only: 10, 20, 40, 60 ms
		frame = [4]time.Duration{10, 20, 40, 60}[config%4] * time.Millisecond
	case config < 16: // hybrid: 10, 20 ms
		frame = [2]time.Duration{10, 20}[config%2] * time.Millisecond
	default: // CELT-only: 2.5, 5, 10, 20 ms
		frame = [4]time.Duration{2500, 5000, 10000, 20000}[config%4] * time.Microsecond
	}
	frames := 1
	switch p[0] & 0x03 {
	case 1, 2:
		frames = 2
	case 3:
		if len(p) < 2 {
			return 0, errors.New("onair: Opus code 3 packet without a frame count")
		}
		frames = int(p[1] & 0x3f)
	}
	d := time.Duration(frames) * frame
	if d <= 0 || d > 120*time.Millisecond {
		return 0, fmt.Errorf("onair: invalid Opus packet duration %v", d)
	}
	return d, nil
}
