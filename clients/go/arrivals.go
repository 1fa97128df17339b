package client

import "sync"

// arrivalSlots is how many recent RTP packets arrivals remembers of each
// stream: a few frames.
const arrivalSlots = 1024

// arrivals remembers when the kernel received each recent RTP packet on a
// viewer's socket (its receive timestamp, wall clock), by SSRC and sequence
// number: a frame's latency is then measured to its arrival at the socket,
// not to the moment this process got round to reading it, so a busy load
// generator does not add its own queueing to the server's figures.
type arrivals struct {
	mu      sync.Mutex
	streams []*streamArrivals // a viewer has a few: video, audio, their RTX
}

// maxArrivalStreams bounds the streams remembered (a viewer's slots times
// video, audio and RTX, with room for SSRC changes).
const maxArrivalStreams = 32

// streamArrivals is one SSRC's latest packets, by sequence number.
type streamArrivals struct {
	ssrc uint32
	seq  [arrivalSlots]uint16
	ns   [arrivalSlots]int64
}

// saw records an SRTP or RTP datagram's arrival; anything else (RTCP,
// STUN, DTLS) is ignored. The RTP header is in the clear in SRTP.
func (a *arrivals) saw(b []byte, ns int64) {
	if len(b) < 12 || b[0]>>6 != 2 || (b[1] >= 192 && b[1] <= 223) {
		return
	}
	seq := uint16(b[2])<<8 | uint16(b[3])
	ssrc := uint32(b[8])<<24 | uint32(b[9])<<16 | uint32(b[10])<<8 | uint32(b[11])
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.stream(ssrc)
	if st == nil {
		return
	}
	i := seq % arrivalSlots
	if st.ns[i] != 0 && st.seq[i] == seq {
		return // a copy (a resend): the first arrival counts
	}
	st.seq[i], st.ns[i] = seq, ns
}

// stream returns ssrc's table, made on its first packet; nil past
// maxArrivalStreams.
func (a *arrivals) stream(ssrc uint32) *streamArrivals {
	for _, st := range a.streams {
		if st.ssrc == ssrc {
			return st
		}
	}
	if len(a.streams) == maxArrivalStreams {
		return nil
	}
	st := &streamArrivals{ssrc: ssrc}
	a.streams = append(a.streams, st)
	return st
}

// at returns when the packet arrived, 0 when it is not remembered.
func (a *arrivals) at(ssrc uint32, seq uint16) int64 {
	if a == nil {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, st := range a.streams {
		if st.ssrc == ssrc {
			if i := seq % arrivalSlots; st.ns[i] != 0 && st.seq[i] == seq {
				return st.ns[i]
			}
			return 0
		}
	}
	return 0
}
