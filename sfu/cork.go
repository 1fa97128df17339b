package sfu

import (
	"net/netip"
	"sync"
	"sync/atomic"
)

// Sending a viewer's packets together.
//
// Every packet to every viewer used to be its own sendto: on this path the
// system call is most of the cost of a packet. When a viewer's track has
// several packets waiting (a frame's worth arrives together, or the server is
// busy and its queues fill), its writer corks the viewer's address: what pion
// writes to it (SRTP-protected, ready for the wire) is held, and sent when
// the writer has drained what was waiting, in one sendmsg with UDP
// generic segmentation offload (UDP_SEGMENT, Linux 4.18): equal-sized
// datagrams cut by the kernel from one buffer, the last one shorter. A track
// whose queue is empty sends at once, so batching never adds delay. Where the
// kernel refuses segmentation the batch goes out datagram by datagram.

// maxBatch bounds the packets held for one viewer (and GSO's 64 segments).
const maxBatch = 32

// corks are the viewer addresses whose packets are being held, shared by the
// SFU's sockets.
type corks struct {
	m       sync.Map // netip.AddrPort → *cork
	sources sync.Map // the SFU's sockets by local address: netip.AddrPort → batchSender
}

// cork holds the packets written to one viewer address while it is corked.
// It also knows which of the SFU's sockets reaches the address (the wire
// sends there, wire.go): the one of the pair ICE selected when its local
// address is one of the sockets', else the one the address was last seen
// on.
type cork struct {
	dst    netip.AddrPort
	via    atomic.Pointer[batchSender]
	pinned atomic.Bool            // via is the selected pair's socket
	in     atomic.Pointer[rtcpIn] // the RTCP of a viewer on the wire (rtcpin.go)
	mu     sync.Mutex
	active bool
	conn   batchSender // the socket that took the first held packet
	buf    []byte      // the held datagrams, back to back
	sizes  []int
	seg    segmenter
}

// get returns the cork of dst, making it once.
func (c *corks) get(dst netip.AddrPort) *cork {
	if k, ok := c.m.Load(dst); ok {
		return k.(*cork)
	}
	k, _ := c.m.LoadOrStore(dst, &cork{dst: dst})
	return k.(*cork)
}

// drop forgets dst's cork (its viewer left).
func (c *corks) drop(dst netip.AddrPort) { c.m.Delete(dst) }

// begin starts holding what is written to the cork's address.
func (k *cork) begin() {
	k.mu.Lock()
	k.active = true
	k.mu.Unlock()
}

// hold keeps b for the cork's address, if it is corked; false means "send
// it now". A full cork (or one a different socket filled) sends what it
// holds first, so datagrams keep their order.
func (k *cork) hold(c batchSender, b []byte) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.active || len(b) > maxPacket {
		return false
	}
	if k.buf == nil {
		k.buf = make([]byte, 0, maxBatch*maxPacket)
	}
	if len(k.sizes) >= maxBatch || len(k.buf)+len(b) > cap(k.buf) || k.conn != nil && k.conn != c {
		k.sendLocked()
	}
	k.conn = c
	k.buf = append(k.buf, b...)
	k.sizes = append(k.sizes, len(b))
	return true
}

// send sends what is held, still corked (a writer about to wait).
func (k *cork) send() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.sendLocked()
}

func (k *cork) sendLocked() {
	if k.conn != nil && len(k.sizes) > 0 {
		k.conn.sendBatch(&k.seg, k.dst, k.buf, k.sizes)
	}
	k.conn, k.buf, k.sizes = nil, k.buf[:0], k.sizes[:0]
}

// flush sends what is held and stops holding. The send happens under the
// cork's lock, which only this viewer's writers share: it keeps a track's
// datagrams in order when another track's writer holds them, and the send
// is one non-blocking system call on a socket every writer shares anyway.
func (k *cork) flush() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.active = false
	k.sendLocked()
}

// saw records that c sent to or received from the cork's address.
func (k *cork) saw(c batchSender) {
	if k.pinned.Load() {
		return
	}
	if v := k.via.Load(); v == nil || *v != c {
		k.via.Store(&c)
	}
}

// pin makes the socket with local address local the one that reaches the
// cork's address, when it is one of the SFU's.
func (k *cork) pin(c *corks, local netip.AddrPort) {
	if v, ok := c.sources.Load(local); ok {
		s := v.(batchSender)
		k.via.Store(&s)
		k.pinned.Store(true)
	}
}

// sender is the socket that reaches the cork's address; nil before pion
// wrote to it.
func (k *cork) sender() batchSender {
	if v := k.via.Load(); v != nil {
		return *v
	}
	return nil
}

// batchSender sends datagrams to viewers (batchconn_linux.go).
type batchSender interface {
	sendBatch(s *segmenter, dst netip.AddrPort, buf []byte, sizes []int)
	sendOne(dst netip.AddrPort, b []byte) (int, error)
}
