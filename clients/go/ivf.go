package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
)

// IVFSource plays the VP8, VP9 or AV1 frames of an IVF file in a loop, each
// for the time until the next frame's timestamp.
type IVFSource struct {
	f     *os.File
	r     *ivfreader.IVFReader
	num   uint64 // time base numerator and denominator: seconds = pts * num / den
	den   uint64
	codec webrtc.RTPCodecCapability
	pace  pacer

	next    []byte        // the frame after the one being returned
	nextAt  time.Duration // its presentation time
	lastDur time.Duration // the last frame duration, used for a file's last frame
}

// OpenIVF opens an IVF file of VP8 ("VP80"), VP9 ("VP90") or AV1 ("AV01").
func OpenIVF(path string) (*IVFSource, error) {
	return openLooping(path, func(f *os.File) *IVFSource { return &IVFSource{f: f} })
}

// rewind starts reading the file from the beginning and reads its first frame.
func (s *IVFSource) rewind() error {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	r, h, err := ivfreader.NewWith(bufio.NewReader(s.f))
	if err != nil {
		return err
	}
	s.r, s.num, s.den = r, uint64(h.TimebaseNumerator), uint64(h.TimebaseDenominator)
	if s.codec.MimeType == "" {
		switch h.FourCC {
		case "VP80":
			s.codec = vp8Codec()
		case "VP90":
			s.codec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP9, ClockRate: 90000,
				SDPFmtpLine: "profile-id=0", RTCPFeedback: videoFeedback}
		case "AV01":
			s.codec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeAV1, ClockRate: 90000,
				RTCPFeedback: videoFeedback}
		default:
			return fmt.Errorf("unsupported IVF codec %q", h.FourCC)
		}
		if s.lastDur = time.Duration(float64(time.Second) * float64(s.num) / float64(s.den)); s.lastDur <= 0 || s.lastDur > time.Second {
			s.lastDur = time.Second / 30
		}
	}
	frame, at, err := s.read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("IVF file has no frames")
		}
		return err
	}
	s.next, s.nextAt = frame, at
	return nil
}

// read returns the next frame and its presentation time.
func (s *IVFSource) read() ([]byte, time.Duration, error) {
	frame, fh, err := s.r.ParseNextFrame()
	if err != nil {
		return nil, 0, err
	}
	// ivfreader scales the stored pts by den/num; undo it, then convert.
	pts := fh.Timestamp * s.num / s.den
	return frame, time.Duration(pts * s.num * uint64(time.Second) / s.den), nil
}

// Codec implements Source.
func (s *IVFSource) Codec() webrtc.RTPCodecCapability { return s.codec }

// NextSample implements Source.
func (s *IVFSource) NextSample(ctx context.Context) (media.Sample, error) {
	frame, at := s.next, s.nextAt
	d := s.lastDur
	next, nextAt, err := s.read()
	switch {
	case err == nil:
		if nd := nextAt - at; nd > 0 && nd <= time.Second {
			d = nd
		}
		s.next, s.nextAt = next, nextAt
	default:
		// The end of the file, or a truncated last frame: loop.
		if err := s.rewind(); err != nil {
			return media.Sample{}, err
		}
	}
	s.lastDur = d
	if err := s.pace.wait(ctx, d); err != nil {
		return media.Sample{}, err
	}
	return media.Sample{Data: frame, Duration: d}, nil
}

// Close implements Source.
func (s *IVFSource) Close() error { return s.f.Close() }
