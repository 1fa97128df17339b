// Package keyframe recognises the RTP packets that start a keyframe, so a
// decoder can begin at them: the SFU gates new subscribers on them and the Go
// client measures time to first frame with them.
package keyframe

import (
	"encoding/binary"
	"strings"

	"github.com/pion/webrtc/v4"
)

// Detector returns the function that tells whether an RTP payload of
// the given codec carries (the start of) a keyframe, or nil for codecs that
// have none (audio).
func Detector(mimeType string) func(payload []byte) bool {
	switch {
	case strings.EqualFold(mimeType, webrtc.MimeTypeVP8):
		return isVP8Keyframe
	case strings.EqualFold(mimeType, webrtc.MimeTypeH264):
		return isH264Keyframe
	case strings.EqualFold(mimeType, webrtc.MimeTypeVP9):
		return isVP9Keyframe
	case strings.EqualFold(mimeType, webrtc.MimeTypeAV1):
		return isAV1Keyframe
	}
	return nil
}

// isVP8Keyframe reports whether payload is the first packet of a VP8
// keyframe: the payload descriptor (RFC 7741 section 4.2) has S=1 and
// PID=0, and the payload header that follows (section 4.3, RFC 6386 section
// 9.1) has P=0 and the start code 0x9d 0x01 0x2a.
func isVP8Keyframe(p []byte) bool {
	if len(p) < 1 || p[0]&0x10 == 0 || p[0]&0x07 != 0 { // S bit, partition index
		return false
	}
	i := 1
	if p[0]&0x80 != 0 { // X: extension byte I|L|T|K
		if len(p) < 2 {
			return false
		}
		x := p[1]
		i = 2
		if x&0x80 != 0 { // I: PictureID, 15 bits when M is set
			if len(p) <= i {
				return false
			}
			if p[i]&0x80 != 0 {
				i += 2
			} else {
				i++
			}
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if x&0x30 != 0 { // T or K: TID|Y|KEYIDX
			i++
		}
	}
	if len(p) < i+6 {
		return false
	}
	h := p[i:]
	return h[0]&0x01 == 0 && h[3] == 0x9d && h[4] == 0x01 && h[5] == 0x2a
}

// H.264 NAL unit types (ITU-T H.264 table 7-1) and RTP packet types (RFC 6184
// section 5.2).
const (
	nalIDR   = 5
	nalSPS   = 7
	nalSTAPA = 24
	nalSTAPB = 25
	nalFUA   = 28
	nalFUB   = 29
)

func isH264KeyNAL(t byte) bool { return t == nalIDR || t == nalSPS }

// isH264Keyframe reports whether payload holds an IDR slice or an SPS: as a
// single NAL unit, inside a STAP-A/STAP-B aggregate, or as the first fragment
// (S bit) of an FU-A/FU-B (RFC 6184 section 5.7 and 5.8).
func isH264Keyframe(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	switch t := p[0] & 0x1f; t {
	case nalSTAPA, nalSTAPB:
		i := 1
		if t == nalSTAPB {
			i = 3 // decoding order number
		}
		for i+2 <= len(p) {
			size := int(binary.BigEndian.Uint16(p[i:]))
			i += 2
			if size == 0 || i+size > len(p) {
				return false
			}
			if isH264KeyNAL(p[i] & 0x1f) {
				return true
			}
			i += size
		}
		return false
	case nalFUA, nalFUB:
		return len(p) >= 2 && p[1]&0x80 != 0 && isH264KeyNAL(p[1]&0x1f)
	default:
		return isH264KeyNAL(t)
	}
}

// isVP9Keyframe reports whether payload starts a frame (B=1) that is not
// inter-picture predicted (P=0) on the base spatial layer, per the VP9 payload
// descriptor (RFC 9628 section 4.2).
func isVP9Keyframe(p []byte) bool {
	if len(p) < 1 || p[0]&0x40 != 0 || p[0]&0x08 == 0 {
		return false
	}
	if p[0]&0x20 == 0 { // no layer indices: base layer
		return true
	}
	i := 1
	if p[0]&0x80 != 0 { // I: picture id, 7 or 15 bits
		if len(p) <= i {
			return false
		}
		if p[i]&0x80 != 0 {
			i += 2
		} else {
			i++
		}
	}
	return len(p) > i && (p[i]>>1)&0x07 == 0 // spatial id 0
}

// isAV1Keyframe reports whether the aggregation header's N bit is set: the
// first packet of a coded video sequence, which starts with a keyframe (AV1
// RTP payload specification section 4.4). Best effort.
func isAV1Keyframe(p []byte) bool {
	return len(p) >= 1 && p[0]&0x08 != 0
}

// Is reports whether payload starts a keyframe of the codec; it is true for
// codecs without keyframes (audio), whose every packet is a place to start.
func Is(mimeType string, payload []byte) bool {
	if d := Detector(mimeType); d != nil {
		return d(payload)
	}
	return true
}
