package client

import (
	"encoding/binary"
	"time"
)

// A Marker rides in the payload of every synthetic VP8 frame, so that a
// viewer in the same process (one clock) can tell each frame's latency and
// which simulcast layer it receives, whatever the server does to the RTP
// headers (SSRC, sequence numbers, timestamps and the VP8 payload descriptor
// may all be rewritten at a layer switch; the VP8 payload is not).
//
// It sits right after the frame's uncompressed header (RFC 6386 section 9.1:
// the 3-byte frame tag, and on a keyframe the start code and size, 10 bytes
// in all), where a real encoder would start the first partition:
//
//	0..3   magic "oAir"
//	4      layer index (0 for a single layer; 0, 1, 2 for simulcast q, h, f)
//	5      number of layers the publisher sends (1 for a single layer)
//	6..9   frame number within the layer, big endian
//	10..17 send time, Unix nanoseconds, big endian
//
// The source writes the frame's creation time; the publisher writes it again
// as the frame's first packet goes to SRTP and the socket (restampMarker),
// so that latency is measured from the wire and not from a busy process's
// queue.
//
// Keyframe detectors (internal/keyframe, an SFU's) look at the header only,
// so a marked frame is still a keyframe to them.
type Marker struct {
	Layer  int
	Layers int
	Frame  uint32
	Sent   time.Time
}

// MarkerSize is the size of a Marker in a frame.
const MarkerSize = 18

var markerMagic = [4]byte{'o', 'A', 'i', 'r'}

// vp8HeaderSize is the size of a VP8 frame's uncompressed header: the frame
// tag, and on a keyframe the start code and the size (RFC 6386 section 9.1).
func vp8HeaderSize(frame []byte) int {
	if len(frame) > 0 && frame[0]&0x01 == 0 {
		return 10
	}
	return 3
}

// putMarker writes m into a VP8 frame whose frame tag is already written;
// it reports false, and writes nothing, when the frame is too small.
func putMarker(frame []byte, m Marker) bool {
	at := vp8HeaderSize(frame)
	if len(frame) < at+MarkerSize {
		return false
	}
	b := frame[at : at+MarkerSize]
	copy(b, markerMagic[:])
	b[4], b[5] = byte(m.Layer), byte(m.Layers)
	binary.BigEndian.PutUint32(b[6:], m.Frame)
	binary.BigEndian.PutUint64(b[10:], uint64(m.Sent.UnixNano()))
	return true
}

// ReadMarker reads the Marker of a VP8 frame (its bytes from the frame tag
// on, as in the first RTP packet of the frame after the payload descriptor).
// It reports false for a frame without one: from a file, or cut short.
func ReadMarker(frame []byte) (Marker, bool) {
	m, ok := readMarkerNs(frame)
	if !ok {
		return Marker{}, false
	}
	return Marker{Layer: m.layer, Layers: m.layers, Frame: m.frame, Sent: time.Unix(0, m.sentNs)}, true
}

// rawMarker is a Marker as it is in the frame: the viewer's hot path reads
// it without making a time.Time.
type rawMarker struct {
	layer, layers int
	frame         uint32
	sentNs        int64
}

func readMarkerNs(frame []byte) (rawMarker, bool) {
	at := vp8HeaderSize(frame)
	if len(frame) < at+MarkerSize {
		return rawMarker{}, false
	}
	b := frame[at : at+MarkerSize]
	if [4]byte(b[:4]) != markerMagic || b[5] == 0 || b[4] >= b[5] {
		return rawMarker{}, false
	}
	return rawMarker{
		layer: int(b[4]), layers: int(b[5]),
		frame:  binary.BigEndian.Uint32(b[6:]),
		sentNs: int64(binary.BigEndian.Uint64(b[10:])),
	}, true
}

// restampMarker writes now as the send time of the Marker in an RTP packet's
// VP8 payload when the packet starts a frame (S=1, partition 0) and carries
// one; other packets are left alone.
func restampMarker(payload []byte, now time.Time) {
	n, ok := vp8DescriptorSize(payload)
	if !ok {
		return
	}
	frame := payload[n:]
	if _, ok := readMarkerNs(frame); !ok {
		return
	}
	at := vp8HeaderSize(frame)
	binary.BigEndian.PutUint64(frame[at+10:], uint64(now.UnixNano()))
}

// vp8DescriptorSize is the size of the VP8 payload descriptor (RFC 7741
// section 4.2) at the start of payload, and whether the packet starts
// partition 0 of a frame.
func vp8DescriptorSize(payload []byte) (int, bool) {
	if len(payload) < 1 || payload[0]&0x10 == 0 || payload[0]&0x07 != 0 {
		return 0, false
	}
	n := 1
	if payload[0]&0x80 != 0 {
		if len(payload) < 2 {
			return 0, false
		}
		x := payload[1]
		n++
		if x&0x80 != 0 { // I: picture id, 7 or 15 bits
			if len(payload) < n+1 {
				return 0, false
			}
			if payload[n]&0x80 != 0 {
				n++
			}
			n++
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			n++
		}
		if x&0x30 != 0 { // T or K: TID/Y/KEYIDX
			n++
		}
	}
	if len(payload) < n {
		return 0, false
	}
	return n, true
}
