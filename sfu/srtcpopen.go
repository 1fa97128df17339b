package sfu

import (
	"crypto/cipher"
	"encoding/binary"
	"errors"

	"github.com/pion/srtp/v3"
)

// srtcpOpener opens a viewer's SRTCP sealed with AEAD_AES_128_GCM or
// AEAD_AES_256_GCM (RFC 7714 §9, §10, §17), refusing replays. pion's
// Context did it, and at 100 viewers its map of SSRC states, its lock and
// its replay detector cost three times the AES-GCM. Viewers on AES-CM keep
// pion's Context.
type srtcpOpener struct {
	aead   cipher.AEAD
	tagLen int
	salt   [12]byte
	iv     [12]byte
	aad    [12]byte
	seen   []replayWindow // per sender SSRC: a viewer has one or a few
	clock  uint64         // counts the packets opened, for the windows' last use
}

// replayWindow is one SSRC's latest SRTCP index and the srtcpReplayWindow
// before it that arrived (RFC 3711 §3.3.2).
type replayWindow struct {
	ssrc    uint32
	used    uint64 // when it last took a packet (the opener's clock)
	started bool
	top     uint32
	mask    uint64 // bit i: index top-i arrived
}

// maxSRTCPSenders bounds the SSRCs one viewer's opener keeps windows for;
// a new one takes the place of the one unused longest (a viewer whose
// receivers come and go keeps its RTCP, and a forged flood of SSRCs costs
// nothing but the packets' own windows).
const maxSRTCPSenders = 16

const srtcpTrailer = 4 // the E flag and the SRTCP index

var (
	errSRTCP       = errors.New("sfu: the SRTCP packet does not open")
	errSRTCPReplay = errors.New("sfu: the SRTCP packet was received before")
)

// newSRTCPOpener derives the SRTCP session key and salt from the viewer's
// master key and salt (labels 3 and 5, RFC 3711 §4.3.2); nil for AES-CM.
func newSRTCPOpener(profile srtp.ProtectionProfile, masterKey, masterSalt []byte) (*srtcpOpener, error) {
	aead, salt, err := sessionAEAD(profile, masterKey, masterSalt, 0x03, 0x05)
	if errors.Is(err, errSealerProfile) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &srtcpOpener{aead: aead, tagLen: aead.Overhead(), salt: salt}, nil
}

// open opens the SRTCP packet b into dst (its capacity reused) and returns
// the RTCP packet.
func (o *srtcpOpener) open(dst, b []byte) ([]byte, error) {
	if len(b) < 8+o.tagLen+srtcpTrailer {
		return nil, errSRTCP
	}
	trailer := b[len(b)-srtcpTrailer:]
	e := binary.BigEndian.Uint32(trailer)
	index, encrypted := e&0x7fffffff, e>>31 == 1
	ssrc := binary.BigEndian.Uint32(b[4:])
	if !encrypted {
		return nil, errSRTCP // browsers encrypt their RTCP; pion's Context opens the rest
	}
	iv := &o.iv
	*iv = [12]byte{}
	binary.BigEndian.PutUint32(iv[2:], ssrc)
	binary.BigEndian.PutUint32(iv[8:], index)
	for i := range iv {
		iv[i] ^= o.salt[i]
	}
	// AAD: the first 8 octets, then the E flag and index (§17).
	copy(o.aad[:8], b[:8])
	copy(o.aad[8:], trailer)
	dst, err := o.aead.Open(append(dst[:0], b[:8]...), iv[:], b[8:len(b)-srtcpTrailer], o.aad[:])
	if err != nil {
		return nil, errSRTCP
	}
	// Authentic; refused when it came before (after the check, so a replay
	// is told from a packet under another key: pion gets no replay).
	w := o.window(ssrc)
	if !w.fresh(index) {
		return nil, errSRTCPReplay
	}
	w.accept(index)
	return dst, nil
}

// window is ssrc's replay window, made on its first packet in place of the
// window unused longest when there are maxSRTCPSenders.
func (o *srtcpOpener) window(ssrc uint32) *replayWindow {
	o.clock++
	oldest := 0
	for i := range o.seen {
		if o.seen[i].ssrc == ssrc {
			o.seen[i].used = o.clock
			return &o.seen[i]
		}
		if o.seen[i].used < o.seen[oldest].used {
			oldest = i
		}
	}
	if len(o.seen) < maxSRTCPSenders {
		o.seen = append(o.seen, replayWindow{})
		oldest = len(o.seen) - 1
	}
	o.seen[oldest] = replayWindow{ssrc: ssrc, used: o.clock}
	return &o.seen[oldest]
}

// fresh: index did not arrive before and is not too old to tell.
func (w *replayWindow) fresh(index uint32) bool {
	if !w.started || index > w.top {
		return true
	}
	d := w.top - index
	return d < srtcpReplayWindow && w.mask&(1<<d) == 0
}

// accept records index as arrived (once its packet opened).
func (w *replayWindow) accept(index uint32) {
	if !w.started {
		w.started, w.top, w.mask = true, index, 1
		return
	}
	if index > w.top {
		if d := index - w.top; d < srtcpReplayWindow {
			w.mask = w.mask<<d | 1
		} else {
			w.mask = 1
		}
		w.top = index
		return
	}
	w.mask |= 1 << (w.top - index)
}
