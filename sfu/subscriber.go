package sfu

import (
	"fmt"
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
	}
}

// readRTCP relays a viewer's keyframe requests upstream and counts its NACKs
// (pion's NACK responder answers those from its packet cache).
func (sub *subscriber) readRTCP(s *webrtc.RTPSender, d *downTrack) {
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				sub.stats.keyframeReqs.Add(1)
				d.requestKeyframe()
			case *rtcp.TransportLayerNack:
				sub.stats.nacks.Add(1)
			case *rtcp.TransportLayerCC:
				sub.path.feedback(p, time.Now())
			}
		}
	}
}
