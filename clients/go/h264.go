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
	"github.com/pion/webrtc/v4/pkg/media/h264reader"
)

// H264Source plays an Annex-B H.264 elementary stream in a loop at a fixed
// frame rate. Each sample is one access unit: its NAL units (parameter sets,
// SEI dropped by the reader, then the slices of one picture) joined with
// start codes, which is what pion's H.264 payloader splits.
type H264Source struct {
	f     *os.File
	r     *h264reader.H264Reader
	frame time.Duration
	codec webrtc.RTPCodecCapability
	pace  pacer

	pending *h264reader.NAL // the first NAL of the next access unit
}

// OpenH264 opens an Annex-B H.264 file to be played at fps frames per second.
// The offered profile-level-id comes from the stream's first SPS.
func OpenH264(path string, fps int) (*H264Source, error) {
	if fps <= 0 {
		return nil, fmt.Errorf("onair: H.264 frame rate must be positive, not %d", fps)
	}
	s, err := openLooping(path, func(f *os.File) *H264Source {
		return &H264Source{f: f, frame: time.Second / time.Duration(fps)}
	})
	if err != nil {
		return nil, err
	}
	plid := "42e01f"
	for n := s.pending; n != nil; {
		if n.UnitType == h264reader.NalUnitTypeSPS && len(n.Data) >= 4 {
			plid = fmt.Sprintf("%02x%02x%02x", n.Data[1], n.Data[2], n.Data[3])
			break
		}
		if n.UnitType == h264reader.NalUnitTypeCodedSliceIdr || n.UnitType == h264reader.NalUnitTypeCodedSliceNonIdr {
			break // no SPS before the first picture
		}
		if n, err = s.r.NextNAL(); err != nil {
			break
		}
	}
	if err := s.rewind(); err != nil {
		s.f.Close()
		return nil, fmt.Errorf("onair: %s: %w", path, err)
	}
	s.codec = webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + plid,
		RTCPFeedback: videoFeedback,
	}
	return s, nil
}

func (s *H264Source) rewind() error {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	r, err := h264reader.NewReader(bufio.NewReader(s.f))
	if err != nil {
		return err
	}
	s.r = r
	n, err := r.NextNAL()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("no H.264 NAL units")
		}
		return err
	}
	s.pending = n
	return nil
}

// isVCL tells a coded slice (ITU-T H.264 table 7-1, types 1 to 5).
func isVCL(t h264reader.NalUnitType) bool { return t >= 1 && t <= 5 }

// startsAccessUnit tells whether n begins a new access unit once the current
// one has a picture (ITU-T H.264 section 7.4.1.2.3): a delimiter, SEI,
// parameter set or reserved type 14–18, or the first slice of a picture
// (first_mb_in_slice = 0, a single 1 bit in Exp-Golomb).
func startsAccessUnit(n *h264reader.NAL) bool {
	switch t := n.UnitType; {
	case t == h264reader.NalUnitTypeAUD, t == h264reader.NalUnitTypeSEI,
		t == h264reader.NalUnitTypeSPS, t == h264reader.NalUnitTypePPS, t >= 14 && t <= 18:
		return true
	case isVCL(t):
		return len(n.Data) > 1 && n.Data[1]&0x80 != 0
	}
	return false
}

// readAccessUnit returns the next access unit in Annex-B form, looping at the
// end of the file.
func (s *H264Source) readAccessUnit() ([]byte, error) {
	var au []byte
	picture := false
	for pass := 0; ; {
		n := s.pending
		s.pending = nil
		if n == nil {
			var err error
			if n, err = s.r.NextNAL(); err != nil {
				if picture {
					// The end of the file closes the last access unit;
					// the next call starts over.
					if err := s.rewind(); err != nil {
						return nil, err
					}
					return au, nil
				}
				if pass++; pass > 1 {
					return nil, errors.New("onair: H.264 file has no picture")
				}
				if err := s.rewind(); err != nil {
					return nil, err
				}
				au = au[:0]
				continue
			}
		}
		if picture && startsAccessUnit(n) {
			s.pending = n
			return au, nil
		}
		au = append(au, 0, 0, 0, 1)
		au = append(au, n.Data...)
		picture = picture || isVCL(n.UnitType)
	}
}

// Codec implements Source.
func (s *H264Source) Codec() webrtc.RTPCodecCapability { return s.codec }

// NextSample implements Source.
func (s *H264Source) NextSample(ctx context.Context) (media.Sample, error) {
	au, err := s.readAccessUnit()
	if err != nil {
		return media.Sample{}, err
	}
	if err := s.pace.wait(ctx, s.frame); err != nil {
		return media.Sample{}, err
	}
	return media.Sample{Data: au, Duration: s.frame}, nil
}

// Close implements Source.
func (s *H264Source) Close() error { return s.f.Close() }
