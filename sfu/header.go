package sfu

import (
	"encoding/binary"
	"errors"

	"github.com/pion/rtp"
)

// The headers the SFU sends, written directly.
//
// A packet to a viewer has a fixed header (no CSRC) and one or two header
// extensions of its own (playout delay, the transport-wide sequence
// number). Through pion's Header each was added with SetExtension, which
// searches the list it keeps, and written by MarshalTo, which sizes every
// form first: a fifth of what the wire spends on a packet besides AES-GCM.
// A track gathers its extensions in an extBlock instead, and the wire
// writes the header and the block (RFC 8285) in one pass.

// maxExtBytes bounds a packet's extension elements: the SFU's own few.
const maxExtBytes = 32

// extBlock is a packet's header extensions, as (id, payload) elements.
type extBlock struct {
	ids  [4]uint8
	lens [4]uint8
	data [maxExtBytes]byte
	n    int // elements
	size int // bytes of data used
}

var errExtBlock = errors.New("sfu: too many header extensions")

func (e *extBlock) reset() { e.n, e.size = 0, 0 }

// add appends extension id with payload (1 to 255 bytes).
func (e *extBlock) add(id uint8, payload []byte) error {
	if id == 0 || len(payload) == 0 || len(payload) > 255 || e.n == len(e.ids) || e.size+len(payload) > maxExtBytes {
		return errExtBlock
	}
	e.ids[e.n], e.lens[e.n] = id, uint8(len(payload))
	copy(e.data[e.size:], payload)
	e.n++
	e.size += len(payload)
	return nil
}

// oneByte: every element fits RFC 8285's one-byte form (§4.2: ids 1–14,
// 1–16 bytes); else the two-byte form (§4.3) carries them.
func (e *extBlock) oneByte() bool {
	for i := range e.n {
		if e.ids[i] > 14 || e.lens[i] > 16 {
			return false
		}
	}
	return true
}

// each calls fn with every element.
func (e *extBlock) each(fn func(id uint8, payload []byte)) {
	off := 0
	for i := range e.n {
		fn(e.ids[i], e.data[off:off+int(e.lens[i])])
		off += int(e.lens[i])
	}
}

// apply sets the elements on h, for pion's path: in the two-byte form when
// one of them needs it (pion would take the form of the first, and then
// refuse or cut the others).
func (e *extBlock) apply(h *rtp.Header) {
	if e.n > 0 && !e.oneByte() {
		h.Extension, h.ExtensionProfile = true, rtp.ExtensionProfileTwoByte
	}
	e.each(func(id uint8, payload []byte) { _ = h.SetExtension(id, payload) })
}

// writeHeader writes h, which has no CSRC and no extensions of its own,
// with the extensions in e (nil: none) into buf; it returns the size.
func writeHeader(buf []byte, h *rtp.Header, e *extBlock) (int, error) {
	if len(h.CSRC) > 0 || h.Extension {
		return 0, errors.New("sfu: writeHeader takes no CSRC and no extensions of pion's")
	}
	size := 12
	one := true
	if e != nil && e.n > 0 {
		one = e.oneByte()
		body := e.size + e.n // one-byte: an id/length byte each
		if !one {
			body += e.n // two-byte: an id and a length byte each
		}
		size += 4 + (body+3)/4*4
	}
	if len(buf) < size {
		return 0, errors.New("sfu: no room for the RTP header")
	}
	b0 := byte(0x80)
	if h.Padding {
		b0 |= 0x20
	}
	if size > 12 {
		b0 |= 0x10
	}
	buf[0], buf[1] = b0, h.PayloadType&0x7f
	if h.Marker {
		buf[1] |= 0x80
	}
	binary.BigEndian.PutUint16(buf[2:], h.SequenceNumber)
	binary.BigEndian.PutUint32(buf[4:], h.Timestamp)
	binary.BigEndian.PutUint32(buf[8:], h.SSRC)
	if size == 12 {
		return 12, nil
	}
	profile := uint16(rtp.ExtensionProfileOneByte)
	if !one {
		profile = rtp.ExtensionProfileTwoByte
	}
	binary.BigEndian.PutUint16(buf[12:], profile)
	binary.BigEndian.PutUint16(buf[14:], uint16((size-16)/4))
	off := 16
	e.each(func(id uint8, payload []byte) {
		if one {
			buf[off] = id<<4 | byte(len(payload)-1)
			off++
		} else {
			buf[off], buf[off+1] = id, byte(len(payload))
			off += 2
		}
		off += copy(buf[off:], payload)
	})
	clear(buf[off:size])
	return size, nil
}
