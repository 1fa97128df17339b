package sfu

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/pion/rtcp"
)

// Transport-wide feedback read where it lies.
//
// A viewer sends transport-cc feedback ten to twenty times a second, and it
// is most of its RTCP. pion's parser makes an object per chunk and per
// receive delta; the path estimator only walks the statuses once, in
// order, so a viewer on the wire has its feedback walked in the packet's
// own bytes (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1).

// twccStatus is one packet's status in a feedback: received or not, and
// its receive delta in µs when the feedback gives one.
type twccStatus struct {
	seq      uint16
	received bool
	hasDelta bool
	delta    int64 // µs
}

// twccFeedback is a transport-cc feedback packet, checked whole and read in
// place.
type twccFeedback struct {
	base   uint16
	count  int
	ref    int64  // the reference time, ns
	chunks []byte // the packet chunks that cover count statuses
	deltas []byte // the receive deltas (and any padding after them)
}

// Packet status symbols (§3.1.1).
const (
	twccNotReceived = 0
	twccSmallDelta  = 1
	twccLargeDelta  = 2
)

var errTWCC = errors.New("sfu: malformed transport-cc feedback")

// isTWCC: b, an RTCP packet, is a transport-cc feedback (RTPFB, FMT 15).
func isTWCC(b []byte) bool {
	return len(b) >= 4 && b[0]&0x1f == rtcp.FormatTCC && b[1] == byte(rtcp.TypeTransportSpecificFeedback)
}

// parseTWCC reads the transport-cc feedback b (one RTCP packet, its header
// first): every chunk and delta the statuses need must be there.
func parseTWCC(b []byte) (twccFeedback, error) {
	if len(b) < 20 || b[0]>>6 != 2 || !isTWCC(b) {
		return twccFeedback{}, errTWCC
	}
	size := (int(binary.BigEndian.Uint16(b[2:])) + 1) * 4
	if size < 20 || size > len(b) {
		return twccFeedback{}, errTWCC
	}
	b = b[:size]
	f := twccFeedback{
		base:  binary.BigEndian.Uint16(b[12:]),
		count: int(binary.BigEndian.Uint16(b[14:])),
		ref:   int64(uint32(b[16])<<16|uint32(b[17])<<8|uint32(b[18])) * 64 * int64(time.Millisecond),
	}
	if f.count > sentRing {
		// more packets than the estimator remembers: no viewer's link
		// needs it, and walking it would cost the server a viewer's say
		return twccFeedback{}, errTWCC
	}
	off, covered, need := 20, 0, 0
	for covered < f.count {
		if off+2 > len(b) {
			return twccFeedback{}, errTWCC
		}
		c := binary.BigEndian.Uint16(b[off:])
		off += 2
		if c&0x8000 == 0 { // a run: no need to count its symbols one by one
			n := min(int(c&0x1fff), f.count-covered)
			covered += n
			need += n * deltaSize(uint8(c>>13&3))
			continue
		}
		eachSymbol(c, f.count-covered, func(sym uint8) {
			covered++
			need += deltaSize(sym)
		})
	}
	f.chunks, f.deltas = b[20:off], b[off:]
	if need > len(f.deltas) {
		return twccFeedback{}, errTWCC
	}
	return f, nil
}

// deltaSize is how many bytes of receive delta a symbol takes.
func deltaSize(sym uint8) int {
	switch sym {
	case twccSmallDelta:
		return 1
	case twccLargeDelta:
		return 2
	}
	return 0
}

// eachSymbol calls fn with the status symbols of chunk c, at most left of
// them: a run-length chunk (§3.1.3) or a status vector of 14 one-bit or 7
// two-bit symbols (§3.1.4).
func eachSymbol(c uint16, left int, fn func(sym uint8)) {
	if c&0x8000 == 0 {
		sym := uint8(c >> 13 & 3)
		for range min(int(c&0x1fff), left) {
			fn(sym)
		}
		return
	}
	if c&0x4000 == 0 {
		for i := range min(14, left) {
			fn(uint8(c >> (13 - i) & 1))
		}
		return
	}
	for i := range min(7, left) {
		fn(uint8(c >> (12 - 2*i) & 3))
	}
}

// statuses walks the feedback's statuses in order.
func (f *twccFeedback) statuses(yield func(twccStatus) bool) {
	seq, deltas, more := f.base, f.deltas, true
	for off := 0; off < len(f.chunks) && more; off += 2 {
		left := f.count - int(seq-f.base)
		eachSymbol(binary.BigEndian.Uint16(f.chunks[off:]), left, func(sym uint8) {
			if !more {
				return
			}
			s := twccStatus{seq: seq, received: sym != twccNotReceived}
			switch sym {
			case twccSmallDelta:
				s.hasDelta, s.delta = true, int64(deltas[0])*rtcp.TypeTCCDeltaScaleFactor
				deltas = deltas[1:]
			case twccLargeDelta:
				s.hasDelta, s.delta = true, int64(int16(binary.BigEndian.Uint16(deltas)))*rtcp.TypeTCCDeltaScaleFactor
				deltas = deltas[2:]
			}
			seq++
			more = yield(s)
		})
	}
}

// pionStatuses walks the statuses of a feedback pion parsed (a viewer's
// RTCP on pion's path).
func pionStatuses(fb *rtcp.TransportLayerCC) func(yield func(twccStatus) bool) {
	return func(yield func(twccStatus) bool) {
		seq, deltas, left := fb.BaseSequenceNumber, fb.RecvDeltas, int(fb.PacketStatusCount)
		emit := func(sym uint16) bool {
			s := twccStatus{seq: seq, received: sym != rtcp.TypeTCCPacketNotReceived}
			if (sym == rtcp.TypeTCCPacketReceivedSmallDelta || sym == rtcp.TypeTCCPacketReceivedLargeDelta) && len(deltas) > 0 {
				s.hasDelta, s.delta = true, deltas[0].Delta
				deltas = deltas[1:]
			}
			seq++
			left--
			return yield(s)
		}
		for _, c := range fb.PacketChunks {
			switch c := c.(type) {
			case *rtcp.RunLengthChunk:
				for i := 0; i < int(c.RunLength) && left > 0; i++ {
					if !emit(c.PacketStatusSymbol) {
						return
					}
				}
			case *rtcp.StatusVectorChunk:
				for _, s := range c.SymbolList {
					if left == 0 || !emit(s) {
						return
					}
				}
			}
		}
	}
}
