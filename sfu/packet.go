package sfu

import (
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"
)

// maxPacket fits any RTP packet on an Ethernet path with room to spare.
const maxPacket = 1500

// packet is one upstream RTP packet shared, without copying, by every subscriber
// it is queued to; the last holder returns it to the pool.
type packet struct {
	buf      [maxPacket]byte
	hdr      rtp.Header
	payload  []byte // slice of buf after the header, padding included
	keyframe bool
	layer    uint8 // the simulcast layer it belongs to; 0 without simulcast
	red      bool  // Opus with redundancy (RFC 2198): red.go
	src      *upstream
	refs     atomic.Int32
}

var packetPool = sync.Pool{New: func() any { return new(packet) }}

func getPacket() *packet {
	p := packetPool.Get().(*packet)
	p.refs.Store(1)
	return p
}

func (p *packet) release() {
	if p.refs.Add(-1) == 0 {
		p.src, p.payload, p.layer, p.keyframe, p.red = nil, nil, 0, false, false
		packetPool.Put(p)
	}
}
