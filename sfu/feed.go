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

// maxLayers is how many simulcast encodings a video feed takes: low, mid and
// high. A publisher without simulcast sends layer 0 alone.
const maxLayers = 3

// layer is one encoding of a feed. Only the downstream tracks on a layer are
// sent its packets, and only they ask its publisher for keyframes: a layer
// nobody watches costs its reader alone (dynacast).
type layer struct {
	up   atomic.Pointer[upstream]
	subs atomic.Pointer[[]*downTrack] // copy-on-write: read without a lock per packet
	// bytes counts the media received, for allocators to sample the
	// layer's bitrate; last is when its latest packet arrived (unix ns).
	bytes atomic.Uint64
	last  atomic.Int64
	gop   gop // the current GOP, for viewers to start from (gop.go)
}

// idleAfter is how long a layer may send nothing before it counts as off:
// a browser stops its high encodings when its uplink is short.
const idleAfter = 1500 * time.Millisecond

func (l *layer) active(now int64) bool {
	return l.up.Load() != nil && now-l.last.Load() < int64(idleAfter)
}

// feed is one stage slot's track of one kind: it outlives the publisher's peer
// connection so viewers keep their downstream tracks across a republish. Each
// downstream track gets one layer (cur) and, while it switches, the layer it
// switches to (target) too, until that layer's next keyframe.
type feed struct {
	kind  webrtc.RTPCodecType
	codec webrtc.RTPCodecCapability

	layers [maxLayers]layer
	count  atomic.Int32 // layers the publisher announced (1 without simulcast)
	// loudSum and loudN add up an audio feed's loudness this tick (speaker.go).
	loudSum, loudN atomic.Uint64
	mu             sync.Mutex // serialises writers of subs and of downTracks' cur/target
}

func newFeed(kind webrtc.RTPCodecType, codec webrtc.RTPCodecCapability) *feed {
	f := &feed{kind: kind, codec: codec}
	for i := range f.layers {
		f.layers[i].subs.Store(&[]*downTrack{})
	}
	f.count.Store(1)
	return f
}

// pick is the layer to give a track that wants layer want: the highest active
// layer up to it, else the lowest active one, else (nothing arrived yet) want
// within the layers the publisher announced.
func (f *feed) pick(want int32) int32 {
	now := time.Now().UnixNano()
	for l := min(want, maxLayers-1); l >= 0; l-- {
		if f.layers[l].active(now) {
			return l
		}
	}
	for l := range int32(maxLayers) {
		if f.layers[l].active(now) {
			return l
		}
	}
	return max(min(want, f.count.Load()-1), 0)
}

// add attaches d, on the layer it wants or the best one there is.
func (f *feed) add(d *downTrack) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d.attach(f)
	l := int32(0)
	if f.kind == webrtc.RTPCodecTypeVideo {
		l = f.pick(d.want.Load())
	}
	d.cur.Store(-1)
	d.target.Store(l)
	f.subscribeLocked(d, l)
}

// remove detaches d from every layer.
func (f *feed) remove(d *downTrack) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for l := range int32(maxLayers) {
		f.unsubscribeLocked(d, l)
	}
	d.detach(f)
}

func (f *feed) subscribeLocked(d *downTrack, l int32) {
	subs := *f.layers[l].subs.Load()
	if !slices.Contains(subs, d) {
		next := append(slices.Clone(subs), d)
		f.layers[l].subs.Store(&next)
	}
}

func (f *feed) unsubscribeLocked(d *downTrack, l int32) {
	subs := *f.layers[l].subs.Load()
	if slices.Contains(subs, d) {
		next := slices.DeleteFunc(slices.Clone(subs), func(x *downTrack) bool { return x == d })
		f.layers[l].subs.Store(&next)
	}
}

// retarget makes d switch to layer l at l's next keyframe (asked for now);
// false when d is no longer on f.
func (f *feed) retarget(d *downTrack, l int32) bool {
	f.mu.Lock()
	if d.feed.Load() != f {
		f.mu.Unlock()
		return false
	}
	cur, old := d.cur.Load(), d.target.Load()
	if old == l {
		f.mu.Unlock()
		return true
	}
	if old != cur {
		f.unsubscribeLocked(d, old)
	}
	d.target.Store(l)
	if l != cur {
		f.subscribeLocked(d, l)
	}
	f.mu.Unlock()
	if l != cur {
		f.requestKeyframe(l)
	}
	return true
}

// switched moves d onto layer l, whose keyframe it is about to send, and off
// the layer it was on; false when d no longer wants l.
func (f *feed) switched(d *downTrack, l int32) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d.feed.Load() != f || d.target.Load() != l {
		return false
	}
	if cur := d.cur.Load(); cur >= 0 && cur != l {
		f.unsubscribeLocked(d, cur)
	}
	d.cur.Store(l)
	return true
}

func (f *feed) requestKeyframe(l int32) {
	if f.kind != webrtc.RTPCodecTypeVideo || l < 0 || l >= maxLayers {
		return
	}
	if u := f.layers[l].up.Load(); u != nil {
		u.requestKeyframe()
	}
}

// forward hands p, a frame of its own, to every subscriber of its layer.
func (f *feed) forward(p *packet) {
	fr := getFrame()
	p.refs.Add(1)
	fr.pkts = append(fr.pkts, p)
	f.forwardFrame(fr)
	fr.release()
}

// forwardFrame sends fr to every subscriber of its layer (fanout.go): no
// viewer's writer is waited for, and a full queue drops the frame for that
// subscriber only.
func (f *feed) forwardFrame(fr *frame) {
	subs := *f.layers[fr.pkts[0].layer].subs.Load()
	// Viewers on pion's path are only handed the frame here (their writers
	// do the work, on any core): cut into parts, they would cost more than
	// they save. A room's viewers are all on the wire where the platform
	// has it, so the first one tells.
	if parts := fanParts(len(subs)); parts > 1 && subs[0].onWire.Load() != nil {
		fanOutParts(fr, subs, parts)
		return
	}
	fanOut(fr, subs)
}
