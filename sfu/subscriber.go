package sfu

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// subscriber is one WHEP session: its m-line pairs show the stage's slots in order,
// except the subscriber's own slot when it is a co-host.
type subscriber struct {
	sess  *Session
	pairs []*pair
	stats *counters
	alloc *allocator
	path  *pathEstimator
	in    atomic.Pointer[rtcpIn] // its RTCP, once on the wire
	// wired: goOnWire ran. A viewer goes on the wire once, before its tracks
	// send anything: new SRTP contexts for keys already used would reuse
	// their indexes (and AES-GCM nonces), and a track pion has sent on has
	// its state in pion.
	wired atomic.Bool
}

// startLayer is the layer a viewer's video starts on when its publisher
// sends simulcast, before its allocator knows the path: the middle one.
const startLayer = 1

// minBitrate is the lowest a viewer's estimate goes.
const minBitrate = 100_000

// newAllocator makes the allocator of the subscriber's video tracks, one
// per m-line pair (-1 tracks where the pair has none).
func (sub *subscriber) newAllocator() *allocator {
	var video []*downTrack
	audio := 0
	for _, p := range sub.pairs {
		video = append(video, p.video)
		if p.audio != nil {
			audio++
		}
	}
	return newAllocator(video, audio)
}

// setLayer pins (pin ≥ 0) or frees (-1) the layer of the video of pair i,
// and caps what its allocator may choose (cap < 0: no cap).
func (sub *subscriber) setLayer(i, pin, cap int) error {
	if i < 0 || i >= len(sub.alloc.tracks) || sub.alloc.tracks[i].d == nil {
		return fmt.Errorf("%w: this session has no video %d", ErrBadLayer, i)
	}
	t := sub.alloc.tracks[i]
	if cap < 0 {
		cap = maxLayers - 1
	}
	t.pin.Store(int32(min(pin, maxLayers-1)))
	t.cap.Store(int32(min(cap, maxLayers-1)))
	limit := int32(min(cap, maxLayers-1))
	if pin >= 0 {
		limit = min(limit, int32(pin))
	}
	t.d.limit.Store(limit)
	sub.alloc.kick()
	return nil
}

// assign shows s on the first free pair; called with the router locked.
func (sub *subscriber) assign(s *slot) {
	if s.identity == sub.sess.Identity && sub.sess.Identity != "" {
		return
	}
	for _, p := range sub.pairs {
		if p.slot == s {
			return
		}
	}
	for _, p := range sub.pairs {
		if p.slot == nil {
			p.attach(s)
			return
		}
	}
}

// unassign frees the pair that showed s and gives it to a slot not yet shown;
// called with the router locked.
func (sub *subscriber) unassign(s *slot, remaining []*slot) {
	for _, p := range sub.pairs {
		if p.slot == s {
			p.detach()
		}
	}
	for _, other := range remaining {
		sub.assign(other)
	}
}

// trackBySSRC is the track sent as ssrc; nil if none. It allocates nothing:
// the socket reader calls it for each of a viewer's RTCP packets.
func (sub *subscriber) trackBySSRC(ssrc uint32) *downTrack {
	for _, p := range sub.pairs {
		for _, t := range [2]*downTrack{p.video, p.audio} {
			if t == nil {
				continue
			}
			if b := t.out.Load(); b != nil && b.ssrc == ssrc {
				return t
			}
		}
	}
	return nil
}

func (sub *subscriber) downTracks() []*downTrack {
	var out []*downTrack
	for _, p := range sub.pairs {
		if p.video != nil {
			out = append(out, p.video)
		}
		if p.audio != nil {
			out = append(out, p.audio)
		}
	}
	return out
}

// goOnWire moves the viewer's tracks to the SFU's own write path (wire.go)
// on its first connection, when its handshake gave the keys and nothing
// else stands in the way; otherwise they stay on pion's. Later calls (a
// reconnection, an ICE restart) change nothing.
func (sub *subscriber) goOnWire(keys *keyCatcher) error {
	if !sub.wired.CompareAndSwap(false, true) {
		return nil
	}
	if !wireSupported {
		return errors.New("this platform has no segmented sends")
	}
	r := sub.sess.pc.RemoteDescription()
	if r == nil {
		return errors.New("no remote description")
	}
	// A viewer that offers cryptex (RFC 9335) gets its header extensions
	// encrypted, as pion would (it refuses an offer that mixes).
	cryptex := strings.Contains(r.SDP, "a=cryptex")
	k, err := keys.keys()
	if err != nil {
		return err
	}
	tracks := sub.downTracks()
	if len(tracks) == 0 {
		return errors.New("no media to send")
	}
	// Every track of the viewer goes to its one address.
	to := tracks[0].cork.Load()
	if to == nil || to.sender() == nil {
		return errors.New("no socket known to reach the viewer yet")
	}
	wires := make([]*wire, len(tracks))
	for i, d := range tracks {
		b := d.out.Load()
		if b == nil {
			return errors.New("a track is not bound")
		}
		ctx, err := k.context(cryptex)
		if err != nil {
			return err
		}
		own, err := k.context(cryptex)
		if err != nil {
			return err
		}
		gcm, err := k.sealer(cryptex)
		if err != nil {
			return err
		}
		wires[i] = newWire(ctx, gcm, own, &d.cork, b.ssrc, b.clockRate, d.kind == webrtc.RTPCodecTypeAudio, sub.stats)
	}
	open, err := k.remoteContext()
	if err != nil {
		return err
	}
	gcmOpen, err := k.remoteOpener()
	if err != nil {
		return err
	}
	for i, d := range tracks {
		d.onWire.Store(wires[i])
		sub.stats.onWire.Add(1)
	}
	in := newRTCPIn(open, gcmOpen, func(pkts []rtcp.Packet) { sub.handleRTCP(pkts, nil) },
		func(f *twccFeedback) { sub.path.feedback(f.ref, f.statuses, time.Now()) })
	sub.in.Store(in)
	// Loaded again: ICE may have moved the viewer since (sfu.go gives a new
	// address the RTCP reader once sub.in is set).
	if k := tracks[0].cork.Load(); k != nil {
		k.in.Store(in)
	}
	return nil
}

// connected lets the downstream tracks send and asks for the keyframes they wait on.
func (sub *subscriber) connected() {
	for _, d := range sub.downTracks() {
		d.ready.Store(true)
		d.requestKeyframe()
	}
}

func (sub *subscriber) close() {
	for _, d := range sub.downTracks() {
		d.close()
		if d.onWire.Swap(nil) != nil {
			sub.stats.onWire.Add(-1)
		}
	}
}

// readRTCP reads what pion passes on of a viewer's RTCP for d: all of it on
// pion's path, what did not open with the viewer's key on the wire.
func (sub *subscriber) readRTCP(s *webrtc.RTPSender, d *downTrack) {
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		sub.handleRTCP(pkts, d)
	}
}

// handleRTCP relays a viewer's keyframe requests upstream, hands its NACKs
// to a track on the wire (pion's NACK responder answers those of a track on
// pion's path from its packet cache) and its transport-wide feedback, REMB
// and receiver reports to the path estimator (rtcpfallback.go). d is the track the packets are about; nil: look each one
// up by its media SSRC.
func (sub *subscriber) handleRTCP(pkts []rtcp.Packet, d *downTrack) {
	track := func(ssrc uint32) *downTrack {
		if d != nil {
			return d
		}
		return sub.trackBySSRC(ssrc)
	}
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.PictureLossIndication:
			sub.stats.keyframeReqs.Add(1)
			if t := track(p.MediaSSRC); t != nil {
				t.requestKeyframe()
			}
		case *rtcp.FullIntraRequest:
			sub.stats.keyframeReqs.Add(1)
			// RFC 5104 §4.3.1: the SSRCs asked for are in the entries.
			for _, ssrc := range p.DestinationSSRC() {
				if t := track(ssrc); t != nil {
					t.requestKeyframe()
					break
				}
			}
		case *rtcp.TransportLayerNack:
			sub.stats.nacks.Add(1)
			if t := track(p.MediaSSRC); t != nil && t.onWire.Load() != nil && len(t.nacks) < cap(t.nacks) {
				t.nack(nackedSeqs(p))
			}
		case *rtcp.TransportLayerCC:
			sub.path.feedback(int64(p.ReferenceTime)*64*int64(time.Millisecond), pionStatuses(p), time.Now())
		case *rtcp.ReceiverEstimatedMaximumBitrate:
			sub.path.remb(float64(p.Bitrate), time.Now())
		case *rtcp.ReceiverReport:
			now := time.Now()
			for _, r := range p.Reports {
				t := track(r.SSRC)
				if t == nil || t.onWire.Load() == nil {
					continue // pion's sender reports: their times are not known here
				}
				if rtt, ok := rttOf(r, now); ok {
					sub.path.roundTrip(rtt)
				}
				if t.kind == webrtc.RTPCodecTypeVideo {
					sub.path.reportedLoss(r.FractionLost, now)
				}
			}
		}
	}
}

// maxNacked bounds the sequence numbers one NACK packet asks for: a report
// can pack thousands, and the ring holds fewer than that anyway.
const maxNacked = 256

// nackedSeqs lists the sequence numbers a NACK asks for, at most maxNacked.
func nackedSeqs(p *rtcp.TransportLayerNack) []uint16 {
	seqs := make([]uint16, 0, min(len(p.Nacks)*17, maxNacked))
	for _, n := range p.Nacks {
		n.Range(func(seq uint16) bool {
			seqs = append(seqs, seq)
			return len(seqs) < maxNacked
		})
		if len(seqs) >= maxNacked {
			break
		}
	}
	return seqs
}
