package client

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// TrackStats is what a Viewer has received on one track.
type TrackStats struct {
	Kind     string // "video" or "audio"
	Codec    string // mime type, e.g. "video/VP8"
	SSRC     uint32
	StreamID string // the msid stream id: tells which publisher the track comes from
	TrackID  string

	Packets    uint64 // RTP packets received, duplicates included
	Bytes      uint64 // RTP bytes received (header and payload)
	Expected   uint64 // sequence numbers from the first to the highest received
	Missing    uint64 // of those, not received (a late packet fills its gap again)
	OutOfOrder uint64 // packets that arrived after a higher sequence number (late or retransmitted)
	Duplicates uint64 // packets whose sequence number was already received

	Frames    uint64 // video: packets with the RTP marker bit; audio: packets
	Keyframes uint64 // video: RTP timestamps that carried a keyframe

	// Times since Watch started (before the POST); zero when not yet seen.
	FirstPacket   time.Duration
	FirstKeyframe time.Duration
	LastPacket    time.Duration
}

// Loss is Missing / Expected, 0 when nothing is expected.
func (t TrackStats) Loss() float64 {
	if t.Expected == 0 {
		return 0
	}
	return float64(t.Missing) / float64(t.Expected)
}

// ViewerStats is a snapshot of a Viewer.
type ViewerStats struct {
	Location        string
	Elapsed         time.Duration // since Watch started
	Connected       time.Duration // time to the peer connection's "connected" state; zero if not yet
	DataChannelOpen bool
	Messages        uint64 // data channel messages received
	Tracks          []TrackStats
}

// FirstKeyframe returns the earliest FirstKeyframe among the video tracks,
// and false when no video track has had a keyframe yet.
func (s ViewerStats) FirstKeyframe() (time.Duration, bool) {
	var best time.Duration
	ok := false
	for _, t := range s.Tracks {
		if t.Kind == "video" && t.Keyframes > 0 && (!ok || t.FirstKeyframe < best) {
			best, ok = t.FirstKeyframe, true
		}
	}
	return best, ok
}

// trackState accumulates a TrackStats; the track's reading goroutine writes
// it, Stats reads it, mu guards it.
type trackState struct {
	mu        sync.Mutex
	st        TrackStats
	seq       seqCounter
	isKey     func([]byte) bool
	video     bool
	lastKeyTS uint32
	sawKeyTS  bool
}

// observe accounts for one packet of n bytes received at since (from the
// start of Watch). It does not allocate.
func (t *trackState) observe(p *rtp.Packet, n int, since time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := &t.st
	if s.Packets == 0 {
		s.FirstPacket = since
		s.SSRC = p.SSRC
	}
	s.Packets++
	s.Bytes += uint64(n)
	s.LastPacket = since
	t.seq.add(p.SequenceNumber)
	if !t.video {
		s.Frames++
		return
	}
	if p.Marker {
		s.Frames++
	}
	if t.isKey != nil && len(p.Payload) > 0 && !(t.sawKeyTS && p.Timestamp == t.lastKeyTS) && t.isKey(p.Payload) {
		t.sawKeyTS, t.lastKeyTS = true, p.Timestamp
		if s.Keyframes == 0 {
			s.FirstKeyframe = since
		}
		s.Keyframes++
	}
}

func (t *trackState) snapshot() TrackStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.st
	s.Expected = t.seq.expected()
	s.Missing = t.seq.missing
	s.OutOfOrder = t.seq.outOfOrder
	s.Duplicates = t.seq.duplicates
	return s
}

// SenderStats is what a Publisher has sent on one track.
type SenderStats struct {
	Kind  string // "video" or "audio"; empty when the publisher has no such track
	Codec string // mime type
	SSRC  uint32

	Samples uint64 // samples (frames) written to the track
	Packets uint64 // RTP packets sent, retransmissions included
	Bytes   uint64 // RTP bytes sent (header and payload)

	PLIs          uint64 // RTCP picture loss indications received (RFC 4585 section 6.3.1)
	FIRs          uint64 // RTCP full intra requests received (RFC 5104 section 4.3.1)
	NACKs         uint64 // RTCP generic NACK messages received (RFC 4585 section 6.2.1)
	NACKedPackets uint64 // packets those NACKs asked for
}

// PublisherStats is a snapshot of a Publisher.
type PublisherStats struct {
	Location string
	Video    SenderStats
	Audio    SenderStats
}

// senderCounters accumulates a SenderStats; its fields are written from
// pion's goroutines (the interceptor, the RTCP reader) and the sample pump.
type senderCounters struct {
	kind, codec                      string
	ssrc                             atomic.Uint32
	samples, packets, bytes          atomic.Uint64
	plis, firs, nacks, nackedPackets atomic.Uint64
}

func (c *senderCounters) snapshot() SenderStats {
	if c == nil {
		return SenderStats{}
	}
	return SenderStats{
		Kind: c.kind, Codec: c.codec, SSRC: c.ssrc.Load(),
		Samples: c.samples.Load(), Packets: c.packets.Load(), Bytes: c.bytes.Load(),
		PLIs: c.plis.Load(), FIRs: c.firs.Load(), NACKs: c.nacks.Load(), NACKedPackets: c.nackedPackets.Load(),
	}
}
