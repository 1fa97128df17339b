package sfu

import "strings"

// codecKind names the codecs whose keyframes the SFU recognises.
type codecKind uint8

const (
	codecOther codecKind = iota
	codecVP8
	codecVP9
	codecH264
	codecAV1
)

func codecFromMime(mime string) codecKind {
	switch strings.ToLower(mime) {
	case "video/vp8":
		return codecVP8
	case "video/vp9":
		return codecVP9
	case "video/h264":
		return codecH264
	case "video/av1":
		return codecAV1
	}
	return codecOther
}

// isKeyframe reports whether an RTP payload starts (or carries) a keyframe, so a new
// subscriber can begin decoding at it. Unknown codecs are treated as always decodable.
func isKeyframe(c codecKind, p []byte) bool {
	switch c {
	case codecVP8:
		return vp8Keyframe(p)
	case codecVP9:
		return vp9Keyframe(p)
	case codecH264:
		return h264Keyframe(p)
	case codecAV1:
		return av1Keyframe(p)
	}
	return true
}

// vp8Keyframe parses the payload descriptor of RFC 7741 §4.2 and the frame tag of
// RFC 6386 §9.1 (P bit clear on keyframes).
func vp8Keyframe(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	i := 1
	if p[0]&0x80 != 0 { // X: extension byte follows
		if len(p) < 2 {
			return false
		}
		x := p[1]
		i = 2
		if x&0x80 != 0 { // I: PictureID
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
		if x&0x30 != 0 { // T or K: TID/KEYIDX byte
			i++
		}
	}
	start := p[0]&0x10 != 0
	pid := p[0] & 0x07
	return start && pid == 0 && len(p) > i && p[i]&0x01 == 0
}

// vp9Keyframe reads the RFC 9628 descriptor: start of a frame that is not
// inter-predicted, on the base spatial layer.
func vp9Keyframe(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	b := p[0]
	interPicture := b&0x40 != 0
	beginning := b&0x08 != 0
	if interPicture || !beginning {
		return false
	}
	if b&0x20 == 0 { // no layer indices: base layer
		return true
	}
	i := 1
	if b&0x80 != 0 { // I: picture id, 7 or 15 bits
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

// h264Keyframe finds an SPS or IDR NAL unit (RFC 6184 single NAL, STAP-A, FU-A start).
func h264Keyframe(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	switch t := p[0] & 0x1f; t {
	case 5, 7:
		return true
	case 24: // STAP-A
		for i := 1; i+2 < len(p); {
			size := int(p[i])<<8 | int(p[i+1])
			i += 2
			if size == 0 || i+size > len(p) {
				return false
			}
			if nt := p[i] & 0x1f; nt == 5 || nt == 7 {
				return true
			}
			i += size
		}
	case 28: // FU-A
		if len(p) < 2 {
			return false
		}
		nt := p[1] & 0x1f
		return p[1]&0x80 != 0 && (nt == 5 || nt == 7)
	}
	return false
}

// av1Keyframe reads the N bit of the aggregation header (AV1 RTP spec §4.4): the
// packet begins a new coded video sequence.
func av1Keyframe(p []byte) bool {
	return len(p) > 0 && p[0]&0x08 != 0
}
