package sfu

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// upstream is one publisher track as it arrives; a feed follows a new upstream on
// every republish.
type upstream struct {
	pc       *webrtc.PeerConnection
	ssrc     uint32
	throttle time.Duration
	lastPLI  atomic.Int64
	stats    *counters
}

// requestKeyframe sends a PLI (RFC 4585 §6.3.1) upstream, at most once per throttle.
func (u *upstream) requestKeyframe() {
	now := time.Now().UnixNano()
	last := u.lastPLI.Load()
	if now-last < int64(u.throttle) || !u.lastPLI.CompareAndSwap(last, now) {
		return
	}
	if err := u.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: u.ssrc}}); err == nil {
		u.stats.plis.Add(1)
	}
}

// feed is one stage slot's track of one kind: it outlives the publisher's peer
// connection so viewers keep their downstream tracks across a republish.
type feed struct {
	kind  webrtc.RTPCodecType
	codec webrtc.RTPCodecCapability

	up   atomic.Pointer[upstream]
	subs atomic.Pointer[[]*downTrack] // copy-on-write: read without a lock per packet
	mu   sync.Mutex                   // serialises writers of subs
}

func newFeed(kind webrtc.RTPCodecType, codec webrtc.RTPCodecCapability) *feed {
	f := &feed{kind: kind, codec: codec}
	f.subs.Store(&[]*downTrack{})
	return f
}

func (f *feed) add(d *downTrack) {
	f.mu.Lock()
	next := append(slices.Clone(*f.subs.Load()), d)
	f.subs.Store(&next)
	f.mu.Unlock()
	d.attach(f)
}

func (f *feed) remove(d *downTrack) {
	f.mu.Lock()
	next := slices.DeleteFunc(slices.Clone(*f.subs.Load()), func(x *downTrack) bool { return x == d })
	f.subs.Store(&next)
	f.mu.Unlock()
	d.detach(f)
}

func (f *feed) requestKeyframe() {
	if f.kind != webrtc.RTPCodecTypeVideo {
		return
	}
	if u := f.up.Load(); u != nil {
		u.requestKeyframe()
	}
}

// forward hands p to every subscriber without blocking; a full queue drops the
// packet for that subscriber only.
func (f *feed) forward(p *packet) {
	for _, d := range *f.subs.Load() {
		p.refs.Add(1)
		if !d.enqueue(p) {
			p.release()
		}
	}
}
