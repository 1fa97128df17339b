package client

import (
	"context"
	"encoding/binary"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// Synthetic sources make well-formed but meaningless frames, so that a
// publisher can run without media files. A decoder will not show a picture,
// but every header an SFU or a statistics counter looks at is right.

const (
	syntheticWidth    = 640
	syntheticHeight   = 360
	syntheticKeyEvery = 2 * time.Second
	keyframeWeight    = 4 // a keyframe is this many times larger than a delta frame
)

// SyntheticVP8 makes VP8 frames at a given rate and bitrate: a keyframe
// every 2 s and when RequestKeyframe is called, delta frames in between.
// Each frame starts with a correct frame tag (RFC 6386 section 9.1: the
// keyframe bit, version 0, shown, first partition size) and, on keyframes,
// the start code 0x9d 0x01 0x2a and the frame size (640x360 unless it is a
// simulcast layer), then a Marker (its layer, number and send time),
// followed by filler.
type SyntheticVP8 struct {
	frame    time.Duration
	keyEvery int // frames
	keySize  int // bytes
	size     int // bytes of a delta frame
	width    int
	height   int
	layer    int // this source's layer and the number of layers, for the Marker
	layers   int
	pace     pacer
	n        int    // frames since the last keyframe
	count    uint32 // frames made
	started  bool
	rnd      uint64
	wantKey  atomic.Bool
	keyCount atomic.Uint64
}

// NewSyntheticVP8 returns a VP8 source of fps frames per second averaging
// bitrateBps bits per second (defaults 30 fps and 1 Mbit/s when not positive).
func NewSyntheticVP8(fps, bitrateBps int) *SyntheticVP8 {
	return newSyntheticVP8(fps, bitrateBps, syntheticWidth, syntheticHeight, 0, 1)
}

func newSyntheticVP8(fps, bitrateBps, width, height, layer, layers int) *SyntheticVP8 {
	if fps <= 0 {
		fps = 30
	}
	if bitrateBps <= 0 {
		bitrateBps = 1_000_000
	}
	keyEvery := max(1, int(syntheticKeyEvery.Seconds()*float64(fps)))
	// keyEvery frames carry keyEvery-1+keyframeWeight delta frames' worth.
	perPeriod := bitrateBps / 8 * keyEvery / fps
	size := max(3+MarkerSize, perPeriod/(keyEvery-1+keyframeWeight))
	return &SyntheticVP8{
		frame:    time.Second / time.Duration(fps),
		keyEvery: keyEvery,
		keySize:  max(size*keyframeWeight, 10+MarkerSize),
		size:     size,
		width:    width,
		height:   height,
		layer:    layer,
		layers:   layers,
		rnd:      0x9e3779b97f4a7c15 + uint64(layer),
	}
}

// Codec implements Source.
func (s *SyntheticVP8) Codec() webrtc.RTPCodecCapability { return vp8Codec() }

// RequestKeyframe implements KeyframeRequester.
func (s *SyntheticVP8) RequestKeyframe() { s.wantKey.Store(true) }

// Keyframes returns how many keyframes the source has made.
func (s *SyntheticVP8) Keyframes() uint64 { return s.keyCount.Load() }

// NextSample implements Source.
func (s *SyntheticVP8) NextSample(ctx context.Context) (media.Sample, error) {
	if err := s.pace.wait(ctx, s.frame); err != nil {
		return media.Sample{}, err
	}
	key := !s.started || s.n >= s.keyEvery || s.wantKey.Swap(false)
	s.started = true
	if key {
		s.n = 0
		s.keyCount.Add(1)
	}
	s.n++
	b := s.makeFrame(key)
	putMarker(b, Marker{Layer: s.layer, Layers: s.layers, Frame: s.count, Sent: time.Now()})
	s.count++
	return media.Sample{Data: b, Duration: s.frame}, nil
}

// makeFrame builds one frame with the header RFC 6386 section 9.1 describes.
func (s *SyntheticVP8) makeFrame(key bool) []byte {
	size, hdr := s.size, 3
	if key {
		size, hdr = s.keySize, 10
	}
	b := make([]byte, size)
	// Frame tag, 24 bits little endian: bit 0 is 0 for a keyframe, bits 1-3
	// the version, bit 4 show_frame, bits 5-23 the first partition's size.
	first := min(size-hdr, 1<<19-1)
	tag := uint32(first)<<5 | 1<<4
	if !key {
		tag |= 1
	}
	b[0], b[1], b[2] = byte(tag), byte(tag>>8), byte(tag>>16)
	if key {
		b[3], b[4], b[5] = 0x9d, 0x01, 0x2a
		binary.LittleEndian.PutUint16(b[6:], uint16(s.width))  // scale bits 0
		binary.LittleEndian.PutUint16(b[8:], uint16(s.height)) // scale bits 0
	}
	for i := hdr; i < len(b); i += 8 { // xorshift filler: incompressible, like real frames
		s.rnd ^= s.rnd << 13
		s.rnd ^= s.rnd >> 7
		s.rnd ^= s.rnd << 17
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], s.rnd)
		copy(b[i:], w[:])
	}
	return b
}

// Close implements Source.
func (s *SyntheticVP8) Close() error { return nil }

// SyntheticOpus makes 20 ms Opus packets of silence: TOC byte 0xf8 (config
// 31, CELT-only fullband 20 ms, mono, one frame; RFC 6716 section 3.1)
// followed by the two-byte silent CELT frame 0xff 0xfe.
type SyntheticOpus struct {
	pace pacer
}

const opusFrame = 20 * time.Millisecond

// NewSyntheticOpus returns an Opus source of 20 ms silent frames.
func NewSyntheticOpus() *SyntheticOpus { return &SyntheticOpus{} }

// Codec implements Source.
func (s *SyntheticOpus) Codec() webrtc.RTPCodecCapability { return opusCodec() }

// NextSample implements Source.
func (s *SyntheticOpus) NextSample(ctx context.Context) (media.Sample, error) {
	if err := s.pace.wait(ctx, opusFrame); err != nil {
		return media.Sample{}, err
	}
	return media.Sample{Data: []byte{0xf8, 0xff, 0xfe}, Duration: opusFrame}, nil
}

// Close implements Source.
func (s *SyntheticOpus) Close() error { return nil }
