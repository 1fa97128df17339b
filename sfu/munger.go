package sfu

// munger rewrites one upstream's sequence numbers and timestamps onto a downstream
// track so that, across republish and co-host changes, the viewer's decoder sees one
// continuous stream (RFC 3550 §5.1: seq +1 per packet, timestamp in the codec clock).
type munger struct {
	started   bool
	src       *upstream
	gate      uint16 // upstream seqs at or before the switch point are dropped
	seqOffset uint16
	tsOffset  uint32
	lastSeq   uint16 // highest seq sent
	lastTs    uint32 // timestamp of that packet
	lastAt    int64  // wall clock (ns) when it was sent
	clockRate uint32
}

// seqNewer reports whether a comes after b in 16-bit serial number arithmetic (RFC 1982).
func seqNewer(a, b uint16) bool { return a != b && a-b < 0x8000 }

// switchTo starts following src at a packet with the given seq and timestamp.
func (m *munger) switchTo(src *upstream, seq uint16, ts uint32, now int64) {
	if m.started {
		m.seqOffset = m.lastSeq + 1 - seq
		gap := uint32(1)
		if m.clockRate > 0 && now > m.lastAt {
			if d := uint64(now-m.lastAt) * uint64(m.clockRate) / 1e9; d > 0 {
				gap = uint32(d)
			}
		}
		m.tsOffset = m.lastTs + gap - ts
	}
	m.started = true
	m.src = src
	m.gate = seq - 1
}

// gateLag keeps the switch-point gate this far behind the newest packet, so it
// drops stragglers from before a switch but never, as 16-bit arithmetic wraps,
// the stream itself.
const gateLag = 0x1000

// rewrite maps a packet from the followed upstream; ok is false for packets that
// precede the switch point and must not be sent.
func (m *munger) rewrite(seq uint16, ts uint32, now int64) (outSeq uint16, outTs uint32, ok bool) {
	if !seqNewer(seq, m.gate) {
		return 0, 0, false
	}
	if seq-m.gate > gateLag {
		m.gate = seq - gateLag
	}
	outSeq, outTs = seq+m.seqOffset, ts+m.tsOffset
	if seqNewer(outSeq, m.lastSeq) || m.lastAt == 0 {
		m.lastSeq, m.lastTs, m.lastAt = outSeq, outTs, now
	}
	return outSeq, outTs, true
}

// pad takes the next sequence number for a padding-only packet (RFC 3550
// §5.1: padding packets are numbered like media), shifting the media after
// it by one; the timestamp is the last packet's.
func (m *munger) pad() (seq uint16, ts uint32) {
	m.lastSeq++
	m.seqOffset++
	return m.lastSeq, m.lastTs
}
