package sfu

import (
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
	hdr    rtcp.Header
	buf    []byte
	handle func([]rtcp.Packet)
}

func newRTCPIn(open *srtp.Context, handle func([]rtcp.Packet)) *rtcpIn {
	return &rtcpIn{open: open, handle: handle, buf: make([]byte, 0, maxPacket)}
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
	plain, err := in.open.DecryptRTCP(in.buf[:0], b, &in.hdr)
	if err != nil {
		in.mu.Unlock()
		return false
	}
	pkts, err := rtcp.Unmarshal(plain)
	in.mu.Unlock()
	if err == nil {
		in.handle(pkts)
	}
	return true
}
