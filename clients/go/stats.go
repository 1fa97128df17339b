package client

import (
	"math/bits"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/onair-live/onair/internal/keyframe"
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

	// PaddingPackets and PaddingBytes count the padding-only packets (RFC
	// 3550 section 5.1), such as a server's bandwidth probes; they are in
	// Packets and Bytes too, but in no layer.
	PaddingPackets uint64
	PaddingBytes   uint64
	// SenderReports counts the RTCP sender reports received for the track.
	SenderReports uint64

	// Times since Watch started (before the POST); zero when not yet seen.
	FirstPacket   time.Duration
	FirstKeyframe time.Duration // the first packet of the first keyframe
	FirstFrame    time.Duration // the last packet of the first keyframe received whole
	LastPacket    time.Duration

	// Layers is the video received by the layer its frames' Markers name
	// (synthetic VP8 only), in layer order; a layer never received is left
	// out. Packets count in the layer of the last Marker seen.
	Layers []LayerStats `json:",omitempty"`
}

// LayerStats is what a viewer received of one layer of the publisher's
// video.
type LayerStats struct {
	Layer int    // 0 for a single layer; 0, 1, 2 for q, h, f
	RID   string // SimulcastRIDs[Layer] when the publisher sends three layers, else ""

	Packets   uint64
	Bytes     uint64 // RTP bytes (header and payload)
	Frames    uint64 // frames received whole, in order, with a Marker
	Keyframes uint64 // of those, keyframes

	// FirstPacket and LastPacket are the times, since Watch started, of the
	// layer's first and last packets: after a switch away and back the
	// layer's bit rate over them counts the time on the other layer too.
	FirstPacket time.Duration
	LastPacket  time.Duration

	// LatencySum and LatencyMax are over Frames: from the Marker's send time
	// to the arrival of the frame's last packet (at the socket, by the
	// kernel's receive timestamp, with Options.UDPGRO; else when it was read).
	LatencySum time.Duration
	LatencyMax time.Duration
}

// MeanLatency is LatencySum / Frames, 0 without frames.
func (l LayerStats) MeanLatency() time.Duration {
	if l.Frames == 0 {
		return 0
	}
	return l.LatencySum / time.Duration(l.Frames)
}

// layerRID names a layer of a publisher that sends layers of them.
func layerRID(layer, layers int) string {
	if layers == len(SimulcastRIDs) && layer < layers {
		return SimulcastRIDs[layer]
	}
	return ""
}

// FrameInfo describes a video frame a Viewer received whole: every packet
// from the one that starts it to the one with the RTP marker bit, in order.
type FrameInfo struct {
	SSRC     uint32
	Keyframe bool
	Packets  int
	Bytes    int           // RTP bytes
	Received time.Duration // since Watch started, at the frame's last packet

	// Marked tells that the frame carried a Marker; Latency is then the time
	// from its send time to Received, or with AtSocket to when the kernel
	// received the frame's last packet (Options.UDPGRO).
	Marked   bool
	Marker   Marker
	Latency  time.Duration
	AtSocket bool
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
	return s.earliest(func(t TrackStats) time.Duration { return t.FirstKeyframe })
}

// FirstFrame returns the earliest FirstFrame among the video tracks (time to
// the first keyframe received whole), and false when there is none yet.
func (s ViewerStats) FirstFrame() (time.Duration, bool) {
	return s.earliest(func(t TrackStats) time.Duration { return t.FirstFrame })
}

func (s ViewerStats) earliest(at func(TrackStats) time.Duration) (time.Duration, bool) {
	var best time.Duration
	ok := false
	for _, t := range s.Tracks {
		if d := at(t); t.Kind == "video" && d > 0 && (!ok || d < best) {
			best, ok = d, true
		}
	}
	return best, ok
}

// maxLayers bounds the layers a viewer accounts for.
const maxLayers = 4

// trackState accumulates a TrackStats; the track's reading goroutine writes
// it, Stats reads it, mu guards it.
type trackState struct {
	mu        sync.Mutex
	st        TrackStats
	seq       seqCounter
	isKey     func([]byte) bool
	video     bool
	vp8       bool
	startNs   int64     // wall clock at the start of Watch, Unix ns
	arrivals  *arrivals // when packets reached the socket; nil: latency is to when they were read
	lastKeyTS uint32
	sawKeyTS  bool

	desc   codecs.VP8Packet // payload descriptor parser, reused
	frame  frameState
	layer  int // of the last Marker seen; -1 before one
	layers [maxLayers]LayerStats
}

// newTrackState returns the state of a track of a mime type, received by a
// viewer whose Watch started at start.
func newTrackState(kind webrtc.RTPCodecType, mimeType string, start time.Time) *trackState {
	return &trackState{
		video:   kind == webrtc.RTPCodecTypeVideo,
		vp8:     strings.EqualFold(mimeType, webrtc.MimeTypeVP8),
		isKey:   keyframe.Detector(mimeType),
		startNs: start.UnixNano(),
		layer:   -1,
	}
}

// frameState follows the video frame being received: the packets of one RTP
// timestamp.
type frameState struct {
	seqKnown bool   // seq holds a packet's sequence number
	started  bool   // a frame is under way
	whole    bool   // its first packet was seen (VP8: S=1, partition 0), none missing so far
	ts       uint32 // its RTP timestamp
	seq      uint16 // its first packet's sequence number
	packets  int
	bytes    int
	key      bool
	marked   bool
	marker   rawMarker
}

// observe accounts for one packet of n bytes received at since (from the
// start of Watch) and, when it completes a video frame received whole,
// describes the frame. It does not allocate.
func (t *trackState) observe(p *rtp.Packet, n int, since time.Duration) (FrameInfo, bool) {
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
	if p.Padding && len(p.Payload) == 0 {
		s.PaddingPackets++
		s.PaddingBytes += uint64(n)
		t.framePadding(p)
		return FrameInfo{}, false
	}
	if !t.video {
		s.Frames++
		return FrameInfo{}, false
	}
	if p.Marker {
		s.Frames++
	}
	key := false
	if t.isKey != nil && len(p.Payload) > 0 && !(t.sawKeyTS && p.Timestamp == t.lastKeyTS) && t.isKey(p.Payload) {
		t.sawKeyTS, t.lastKeyTS, key = true, p.Timestamp, true
		if s.Keyframes == 0 {
			s.FirstKeyframe = since
		}
		s.Keyframes++
	}
	return t.observeFrame(p, n, since, key)
}

// observeFrame follows the frames of a video track: which layer each packet
// belongs to, and whether a frame arrived whole.
func (t *trackState) observeFrame(p *rtp.Packet, n int, since time.Duration, key bool) (FrameInfo, bool) {
	f := &t.frame
	newer := !f.seqKnown || int16(p.SequenceNumber-f.seq) > 0
	switch {
	case newer && (!f.started || p.Timestamp != f.ts):
		// The first packet of a frame, or of what is left of it when its
		// first packets were lost: only VP8 tells (S=1 in partition 0).
		*f = frameState{started: true, seqKnown: true, ts: p.Timestamp, seq: p.SequenceNumber, whole: !t.vp8}
		if t.vp8 {
			if frame, err := t.desc.Unmarshal(p.Payload); err == nil && t.desc.S == 1 && t.desc.PID == 0 {
				f.whole = true
				if m, ok := readMarkerNs(frame); ok {
					f.marked, f.marker = true, m
					t.layer = m.layer
					if m.layer < maxLayers {
						t.layers[m.layer].RID = layerRID(m.layer, m.layers)
					}
				}
			}
		}
	case !newer || !f.started || p.Timestamp != f.ts:
		// Late or reordered: a retransmission, or a packet of an earlier
		// frame. The frame under way is no longer received in order.
		f.whole = f.whole && p.Timestamp != f.ts
		t.countLayer(n, since)
		return FrameInfo{}, false
	}
	f.packets++
	f.bytes += n
	f.key = f.key || key
	t.countLayer(n, since)
	if !p.Marker {
		return FrameInfo{}, false
	}
	// The frame's last packet: whole if no sequence number is missing.
	whole := f.whole && int(uint16(p.SequenceNumber-f.seq))+1 == f.packets
	f.started, f.seq = false, p.SequenceNumber
	if !whole {
		return FrameInfo{}, false
	}
	if f.key && t.st.FirstFrame == 0 {
		t.st.FirstFrame = since
	}
	fi := FrameInfo{SSRC: p.SSRC, Keyframe: f.key, Packets: f.packets, Bytes: f.bytes, Received: since, Marked: f.marked}
	if !f.marked {
		return fi, true
	}
	m := f.marker
	fi.Marker = Marker{Layer: m.layer, Layers: m.layers, Frame: m.frame, Sent: time.Unix(0, m.sentNs)}
	arrived := t.startNs + int64(since)
	if ns := t.arrivals.at(p.SSRC, p.SequenceNumber); ns != 0 {
		arrived, fi.AtSocket = ns, true
	}
	fi.Latency = time.Duration(arrived - m.sentNs)
	if m.layer < maxLayers {
		l := &t.layers[m.layer]
		l.Frames++
		if f.key {
			l.Keyframes++
		}
		l.LatencySum += fi.Latency
		l.LatencyMax = max(l.LatencyMax, fi.Latency)
	}
	return fi, true
}

// framePadding keeps a padding-only packet sent inside the frame under way
// in the frame's sequence numbers, so that the frame can still be whole.
func (t *trackState) framePadding(p *rtp.Packet) {
	f := &t.frame
	if f.started && p.Timestamp == f.ts && int16(p.SequenceNumber-f.seq) > 0 {
		f.packets++
	}
}

// countLayer counts a packet of n bytes, received at since, in the layer of
// the last Marker.
func (t *trackState) countLayer(n int, since time.Duration) {
	if t.layer < 0 || t.layer >= maxLayers {
		return
	}
	l := &t.layers[t.layer]
	if l.Packets == 0 {
		l.FirstPacket = since
	}
	l.Packets++
	l.Bytes += uint64(n)
	l.LastPacket = since
}

func (t *trackState) snapshot() TrackStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.st
	s.Expected = t.seq.expected()
	s.Missing = t.seq.missing
	s.OutOfOrder = t.seq.outOfOrder
	s.Duplicates = t.seq.duplicates
	for i, l := range t.layers {
		if l.Packets > 0 || l.Frames > 0 {
			l.Layer = i
			s.Layers = append(s.Layers, l)
		}
	}
	return s
}

// SenderStats is what a Publisher has sent on one track or simulcast layer.
type SenderStats struct {
	Kind  string // "video" or "audio"; empty when the publisher has no such track
	Codec string // mime type
	RID   string `json:",omitempty"` // a simulcast layer's RID
	SSRC  uint32 // of the track's first encoding when it has several

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
	Video    SenderStats // all the video, every simulcast layer together
	Audio    SenderStats
	Layers   []SenderStats `json:",omitempty"` // each simulcast layer, in the order of the offer
}

// senderCounters accumulates a SenderStats; its fields are written from
// pion's goroutines (the interceptor, the RTCP reader) and the sample pump.
// A simulcast layer's counters have the video track's as parent, and what is
// counted in a layer is counted in its parent too.
type senderCounters struct {
	kind, codec, rid                 string
	parent                           *senderCounters
	ssrc                             atomic.Uint32
	samples, packets, bytes          atomic.Uint64
	plis, firs, nacks, nackedPackets atomic.Uint64
}

// name is the track's kind, with the layer's RID: "video", "video layer q".
func (c *senderCounters) name() string {
	if c.rid != "" {
		return c.kind + " layer " + c.rid
	}
	return c.kind
}

// countRTCP counts the feedback of one RTCP packet received for the track.
func (c *senderCounters) countRTCP(pkt rtcp.Packet) {
	switch pkt := pkt.(type) {
	case *rtcp.PictureLossIndication:
		c.plis.Add(1)
	case *rtcp.FullIntraRequest:
		c.firs.Add(1)
	case *rtcp.TransportLayerNack:
		c.nacks.Add(1)
		for _, n := range pkt.Nacks {
			c.nackedPackets.Add(uint64(1 + bits.OnesCount16(uint16(n.LostPackets))))
		}
	}
}

func (c *senderCounters) snapshot() SenderStats {
	if c == nil {
		return SenderStats{}
	}
	return SenderStats{
		Kind: c.kind, Codec: c.codec, RID: c.rid, SSRC: c.ssrc.Load(),
		Samples: c.samples.Load(), Packets: c.packets.Load(), Bytes: c.bytes.Load(),
		PLIs: c.plis.Load(), FIRs: c.firs.Load(), NACKs: c.nacks.Load(), NACKedPackets: c.nackedPackets.Load(),
	}
}
