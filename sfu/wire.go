package sfu

import (
	"encoding/binary"
	"errors"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// The SFU's own write path to a viewer.
//
// Through pion every packet to every viewer passed the interceptor chain (the
// NACK responder copied it, the sender-report interceptor counted it), the
// SRTP session's lock and buffers, the ICE connection and the mux, then a
// sendto of its own. A viewer's track on the wire instead seals its packets
// with its own SRTP context (keys from the viewer's DTLS handshake,
// srtpkeys.go) straight into a ring buffer, and sends a frame's packets, once
// sealed, from the ring in one segmented sendmsg (batchconn_linux.go) to the
// address and through the socket pion's ICE uses for the viewer. The ring is
// also the NACK history: a lost packet is sent again from it (downTrack.resend).
// Sender reports, which a viewer needs to line audio up with video, are
// made and sealed here from what was sent. pion keeps ICE and DTLS; the
// viewer's RTCP is read on the wire too (rtcpin.go). A viewer whose
// handshake did not give the keys stays on pion's path.

// ringSize is each track's ring of sealed packets: the batch being sent and
// the history NACKs are answered from (about 1 s of 2 Mbit/s video).
const (
	ringSize      = 256 << 10
	audioRingSize = 32 << 10
)

// ringSlots indexes the latest sealed packets by sequence number.
const ringSlots = 1024

// maxSealed is the most a sealed packet takes: a whole packet, the SFU's
// header extensions and the longest SRTP tag.
const maxSealed = maxPacket + 64

// srSize is a sender report without reception blocks (RFC 3550 §6.4.1).
const srSize = 28

// reportEvery is how often a track sends a sender report (RFC 3550 §6.2
// leaves it to the sender; browsers' is about 1 s). The first goes with the
// first packet, so a viewer can line audio up with video from the start.
const reportEvery = time.Second

// wire sends one viewer's track over the SFU's own path. It is owned by
// whoever holds the track's lock (downTrack.mu): its writer, or a fan-out.
type wire struct {
	srtp  *srtp.Context
	gcm   *gcmSealer            // seals RTP when the profile is AES-GCM; else srtp does
	own   *srtp.Context         // the same keys, to read a sealed packet back (RTX)
	to    *atomic.Pointer[cork] // the viewer's address, and the socket that reaches it (ICE may change it)
	ssrc  uint32
	clock uint32
	stats *counters

	ring  []byte
	lap   uint32
	head  int // where the next packet is sealed
	start int // the first byte not yet sent
	sizes []int
	seg   segmenter
	slots [ringSlots]sealed
	// parsed is where SRTP reads the header back (it takes marshalled packets)
	parsed rtp.Header
	plain  []byte // a packet read back from the ring
	// the latest media sequence number sealed, for the rollover counter of
	// a packet read back
	lastSeq uint16

	// what sender reports tell: packets and payload bytes sent, the RTP
	// time of the latest packet and when it went out
	packets, octets uint32
	lastTS          uint32
	lastAt          int64
	nextReport      int64
	srPlain         [srSize]byte
	srSealed        []byte
	srHeader        rtcp.Header
}

// sealed is where a sealed packet lies in the ring.
type sealed struct {
	seq  uint16
	lap  uint32
	off  int32
	n    int32
	used bool
	// repairs: how often it was sent again, the last time at repairedAt
	repairs    uint8
	repairedAt int64
}

// A lost packet is sent again at most maxRepairs times, a round trip and
// never less than repairGap apart: a viewer whose link drops the repairs
// too asks again every NACK interval, and answering each ask would flood
// the link that lost them (with 20 ms on loopback, a 600 kbit/s viewer of
// the simulcast test sometimes stayed on the low layer).
const (
	maxRepairs   = 3
	repairGap    = 100 * time.Millisecond
	minRepairGap = repairGap
)

// gapFor is how long a repair waits for the one before it, given the
// path's round trip (0: unknown).
func gapFor(rtt time.Duration) int64 {
	if rtt <= 0 {
		return int64(repairGap)
	}
	return int64(min(max(rtt+10*time.Millisecond, minRepairGap), time.Second))
}

var errSealGrew = errors.New("sfu: SRTP sealed a packet outside the ring")

// newWire makes a track's wire; gcm may be nil (pion's ctx seals RTP then).
func newWire(ctx *srtp.Context, gcm *gcmSealer, own *srtp.Context, to *atomic.Pointer[cork], ssrc, clock uint32, audio bool,
	stats *counters,
) *wire {
	size := ringSize
	if audio {
		size = audioRingSize
	}
	return &wire{srtp: ctx, gcm: gcm, own: own, to: to, ssrc: ssrc, clock: clock, stats: stats,
		ring: make([]byte, size), sizes: make([]int, 0, maxBatch), plain: make([]byte, 0, maxSealed),
		srSealed: make([]byte, 0, srSize+64)}
}

// seal encrypts a media packet, hdr with the extensions in ext (nil: none)
// and payload, into the ring, to go out with the next flush; it returns the
// packet's size on the wire.
func (w *wire) seal(hdr *rtp.Header, ext *extBlock, payload []byte, now int64) (int, error) {
	return w.sealAt(hdr, ext, payload, now, true)
}

// sealRepair seals a packet that repairs the stream (RTX): it is neither
// kept for NACKs nor counted in sender reports.
func (w *wire) sealRepair(hdr *rtp.Header, ext *extBlock, payload []byte, now int64) (int, error) {
	return w.sealAt(hdr, ext, payload, now, false)
}

func (w *wire) sealAt(hdr *rtp.Header, ext *extBlock, payload []byte, now int64, media bool) (int, error) {
	if w.head+maxSealed > len(w.ring) {
		w.flush()
		w.head, w.start = 0, 0
		w.lap++
	}
	if len(w.sizes) == cap(w.sizes) {
		w.flush()
	}
	buf := w.ring[w.head : w.head+maxSealed]
	hdrLen, err := writeHeader(buf, hdr, ext)
	if err != nil {
		return 0, err
	}
	n := hdrLen + copy(buf[hdrLen:], payload)
	size, err := w.sealRTP(buf, n, hdrLen, hdr)
	if err != nil {
		return 0, err
	}
	if media {
		w.slots[hdr.SequenceNumber%ringSlots] = sealed{seq: hdr.SequenceNumber, lap: w.lap, off: int32(w.head), n: int32(size), used: true}
	}
	w.head += size
	w.sizes = append(w.sizes, size)
	if media {
		w.packets++
		w.octets += uint32(len(payload) - padding(hdr, payload))
		w.lastTS, w.lastAt, w.lastSeq = hdr.Timestamp, now, hdr.SequenceNumber
		if now >= w.nextReport {
			w.report(now)
		}
	}
	return size, nil
}

// sealRTP seals the packet in buf[:n] in place and returns its sealed size.
func (w *wire) sealRTP(buf []byte, n, hdrLen int, hdr *rtp.Header) (int, error) {
	if w.gcm != nil {
		return w.gcm.seal(buf, n, hdrLen, hdr)
	}
	out, err := w.srtp.EncryptRTP(buf[:n:len(buf)], buf[:n], &w.parsed)
	if err != nil {
		return 0, err
	}
	if len(out) == 0 || &out[0] != &buf[0] {
		return 0, errSealGrew
	}
	return len(out), nil
}

// roc is the media stream's rollover counter now, kept by whoever seals.
func (w *wire) roc() uint32 {
	if w.gcm != nil {
		return w.gcm.roc(w.ssrc)
	}
	roc, _ := w.srtp.ROC(w.ssrc)
	return roc
}

// flush sends what was sealed since the last flush.
func (w *wire) flush() {
	if len(w.sizes) == 0 {
		return
	}
	if k := w.to.Load(); k != nil {
		if c := k.sender(); c != nil {
			c.sendBatch(&w.seg, k.dst, w.ring[w.start:w.head], w.sizes)
		}
	}
	w.sent()
}

// sent forgets what was sealed since the last flush: a fan-out sent it
// (fanout.go).
func (w *wire) sent() {
	w.start = w.head
	w.sizes = w.sizes[:0]
}

// sendSealed sends s again as it was sealed, after what waits to go.
func (w *wire) sendSealed(s *sealed) bool {
	w.flush()
	k := w.to.Load()
	if k == nil {
		return false
	}
	c := k.sender()
	if c == nil {
		return false
	}
	c.sendOne(k.dst, w.ring[s.off:s.off+s.n])
	return true
}

// find is where the media packet seq lies in the ring, if it still does.
func (w *wire) find(seq uint16) (*sealed, bool) {
	s := &w.slots[seq%ringSlots]
	return s, s.used && s.seq == seq && w.intact(*s)
}

// repair is where packet seq lies when it is to go again now: the ring
// still holds it, it is due (repaired fewer than maxRepairs times, the last
// gap ago or more) and budget (nil: none) takes its size; it then counts as
// repaired. spent: the budget refused it, and later ones wait too.
func (w *wire) repair(seq uint16, now, gap int64, budget func(size int) bool) (s *sealed, spent bool) {
	s, ok := w.find(seq)
	if !ok || s.repairs >= maxRepairs || s.repairs > 0 && now-s.repairedAt < gap {
		return nil, false
	}
	if budget != nil && !budget(int(s.n)) {
		return nil, true
	}
	s.repairs++
	s.repairedAt = now
	return s, false
}

// open reads the sealed packet s (sequence number seq) back: the packet as
// it was before sealing, valid until the next open.
func (w *wire) open(s *sealed, seq uint16) ([]byte, bool) {
	// Its rollover counter: the one now, or the one before if the sequence
	// numbers wrapped since (the ring holds far fewer than 2^15 packets).
	roc := w.roc()
	if seq > w.lastSeq && roc > 0 {
		roc--
	}
	w.own.SetROC(w.ssrc, roc)
	plain, err := w.own.DecryptRTP(w.plain[:0], w.ring[s.off:s.off+s.n], &w.parsed)
	if err != nil {
		return nil, false
	}
	w.plain = plain[:0]
	return plain, true
}

// intact: the ring has not been written over s since it was sealed. The
// maxSealed bytes from head on count as written: a seal that failed may
// have left bytes there.
func (w *wire) intact(s sealed) bool {
	return s.lap == w.lap || s.lap+1 == w.lap && int(s.off) >= w.head+maxSealed
}

// report sends a sender report, sealed with the track's own context (pion
// sends no RTCP for the track): the RTP time that corresponds to now, on
// the track's clock, with what was sent so far.
func (w *wire) report(now int64) {
	w.nextReport = now + int64(reportEvery)
	// The report without reception blocks (RFC 3550 §6.4.1), written here
	// and sealed into the wire's own buffer: nothing allocated.
	plain := w.srPlain[:]
	plain[0], plain[1] = 0x80, byte(rtcp.TypeSenderReport)
	binary.BigEndian.PutUint16(plain[2:], uint16(len(plain)/4-1))
	binary.BigEndian.PutUint32(plain[4:], w.ssrc)
	binary.BigEndian.PutUint64(plain[8:], ntpTime(time.Unix(0, now)))
	binary.BigEndian.PutUint32(plain[16:], w.lastTS+uint32(uint64(now-w.lastAt)*uint64(w.clock)/uint64(time.Second)))
	binary.BigEndian.PutUint32(plain[20:], w.packets)
	binary.BigEndian.PutUint32(plain[24:], w.octets)
	sealed, err := w.srtp.EncryptRTCP(w.srSealed[:0], plain, &w.srHeader)
	if err != nil {
		return
	}
	if k := w.to.Load(); k != nil {
		if c := k.sender(); c != nil {
			c.sendOne(k.dst, sealed)
		}
	}
}

// padding is how many of payload's bytes are padding (RFC 3550 §5.1).
func padding(hdr *rtp.Header, payload []byte) int {
	if !hdr.Padding || len(payload) == 0 || int(payload[len(payload)-1]) > len(payload) {
		return 0
	}
	return int(payload[len(payload)-1])
}
