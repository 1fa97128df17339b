package sfu

// VP8 picture numbering across switches.
//
// A VP8 payload descriptor (RFC 7741 §4.2) may carry a PictureID (7 or 15
// bits) and a TL0PICIDX (8 bits), which receivers use to find a frame's
// references and to tell lost frames from late ones. Every encoder numbers
// its own, so a switch to another simulcast layer (or a republish) makes
// them jump, and a receiver takes the new layer's frames for stale ones and
// stalls. vp8Munger renumbers them per viewer, continuing where the last
// frame sent left off, as the munger does for sequence numbers and
// timestamps. The packet is shared by every viewer, so a renumbered
// descriptor goes out in a copy of the payload, owned by the track's writer.

type vp8Munger struct {
	started   bool
	pidOffset uint16
	tl0Offset uint8
	lastPID   uint16
	lastTL0   uint8
	buf       [maxPacket]byte
}

// vp8Fields finds the PictureID and TL0PICIDX in a VP8 payload: pid is the
// PictureID's offset (-1 when absent), wide whether it has 15 bits, tl0 the
// TL0PICIDX's offset (-1 when absent). ok is false for a payload too short to
// hold what its flags announce.
func vp8Fields(b []byte) (pid int, wide bool, tl0 int, ok bool) {
	pid, tl0 = -1, -1
	if len(b) < 1 {
		return pid, false, tl0, false
	}
	if b[0]&0x80 == 0 { // X: no extension
		return pid, false, tl0, true
	}
	if len(b) < 2 {
		return pid, false, tl0, false
	}
	x, i := b[1], 2
	if x&0x80 != 0 { // I: PictureID
		if len(b) < i+1 {
			return -1, false, -1, false
		}
		pid, wide = i, b[i]&0x80 != 0
		i++
		if wide {
			i++
		}
	}
	if x&0x40 != 0 { // L: TL0PICIDX
		tl0 = i
		i++
	}
	if x&0x30 != 0 { // T or K: one byte
		i++
	}
	if len(b) < i {
		return -1, false, -1, false
	}
	return pid, wide, tl0, true
}

func readPID(b []byte, at int, wide bool) uint16 {
	if wide {
		return uint16(b[at]&0x7f)<<8 | uint16(b[at+1])
	}
	return uint16(b[at] & 0x7f)
}

func writePID(b []byte, at int, wide bool, v uint16) {
	if wide {
		b[at], b[at+1] = 0x80|byte(v>>8)&0x7f, byte(v)
	} else {
		b[at] = byte(v) & 0x7f
	}
}

// switchTo continues the numbering at b, the first packet (a keyframe's) of
// a new source.
func (v *vp8Munger) switchTo(b []byte) {
	pid, wide, tl0, ok := vp8Fields(b)
	if !ok || !v.started {
		return
	}
	if pid >= 0 {
		v.pidOffset = v.lastPID + 1 - readPID(b, pid, wide)
	}
	if tl0 >= 0 {
		v.tl0Offset = v.lastTL0 + 1 - b[tl0]
	}
}

// rewrite returns b with its numbers renumbered (b itself when nothing
// changes).
func (v *vp8Munger) rewrite(b []byte) []byte {
	pid, wide, tl0, ok := vp8Fields(b)
	if !ok || pid < 0 && tl0 < 0 {
		return b
	}
	v.started = true
	mask := uint16(0x7fff)
	if !wide {
		mask = 0x7f
	}
	var outPID uint16
	if pid >= 0 {
		outPID = (readPID(b, pid, wide) + v.pidOffset) & mask
		v.lastPID = outPID
	}
	var outTL0 uint8
	if tl0 >= 0 {
		outTL0 = b[tl0] + v.tl0Offset
		v.lastTL0 = outTL0
	}
	if v.pidOffset == 0 && v.tl0Offset == 0 || len(b) > len(v.buf) {
		return b
	}
	out := v.buf[:copy(v.buf[:], b)]
	if pid >= 0 {
		writePID(out, pid, wide, outPID)
	}
	if tl0 >= 0 {
		out[tl0] = outTL0
	}
	return out
}
