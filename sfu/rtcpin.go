package sfu

import (
	"encoding/binary"
	"errors"
	"sync"

	"github.com/pion/rtcp"
	"github.com/pion/srtp/v3"
)

// A viewer's RTCP on the wire.
//
// A viewer reports on what it receives about ten times a second
// (transport-wide feedback, receiver reports, NACKs, PLIs). Through pion
// each report crossed four goroutines and two buffers before the SFU read
// it; a viewer on the wire has its RTCP opened (with the viewer's SRTCP
// key from the same handshake, srtpkeys.go) and handled by the SFU socket's
// reader as it arrives, and pion never sees it. What does not open with the
// viewer's key is left to pion.

// rtcpIn opens and handles the RTCP of one viewer on the wire.
type rtcpIn struct {
	mu     sync.Mutex // the socket readers of the viewer's address share the context
	open   *srtp.Context
	gcm    *srtcpOpener // opens it when the profile is AES-GCM; nil: open does
	hdr    rtcp.Header
	buf    []byte
	handle func([]rtcp.Packet)
	twcc   func(*twccFeedback) // transport-cc feedback, read in place (twcc.go)
	fb     twccFeedback        // the feedback being handled: here, it would escape
}

func newRTCPIn(open *srtp.Context, gcm *srtcpOpener, handle func([]rtcp.Packet), twcc func(*twccFeedback)) *rtcpIn {
	return &rtcpIn{open: open, gcm: gcm, handle: handle, twcc: twcc, buf: make([]byte, 0, maxPacket)}
}

// isRTCP tells RTCP from RTP on a shared port (RFC 5761 §4): version 2 and
// a packet type in 192–223, where RTP payload types with the marker bit
// never fall.
func isRTCP(b []byte) bool {
	return len(b) >= 8 && b[0]>>6 == 2 && b[1] >= 192 && b[1] <= 223
}

// take opens and handles b; false when b is not the viewer's RTCP (pion's
// to see).
func (in *rtcpIn) take(b []byte) bool {
	if !isRTCP(b) {
		return false
	}
	in.mu.Lock()
	var plain []byte
	var err error
	if in.gcm != nil {
		plain, err = in.gcm.open(in.buf, b)
	} else {
		plain, err = in.open.DecryptRTCP(in.buf[:0], b, &in.hdr)
	}
	if err != nil {
		in.mu.Unlock()
		return errors.Is(err, errSRTCPReplay) // a replay is dropped, not left to pion
	}
	defer in.mu.Unlock() // plain is in.buf
	// Each packet of the compound on its own: transport-cc feedback read
	// where it lies, the rest by pion. The feedback's statuses are walked
	// one by one, so a datagram gets to have at most sentRing of them
	// walked: a compound of short feedbacks each claiming long runs of
	// losses would otherwise cost far more to walk than to send.
	statuses := 0
	for len(plain) >= 4 {
		size := (int(binary.BigEndian.Uint16(plain[2:])) + 1) * 4
		if size > len(plain) {
			break
		}
		pkt := plain[:size]
		plain = plain[size:]
		if isTWCC(pkt) {
			var err error
			if in.fb, err = parseTWCC(pkt); err == nil && statuses+in.fb.count <= sentRing {
				statuses += in.fb.count
				in.twcc(&in.fb)
			}
			continue
		}
		if pkts, err := rtcp.Unmarshal(pkt); err == nil {
			in.handle(pkts)
		}
	}
	return true
}
