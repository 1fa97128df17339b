package sfu

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// binding is what pion hands a downTrack when the subscriber's answer is applied.
type binding struct {
	w         webrtc.TrackLocalWriter
	ssrc      uint32
	pt        uint8
	clockRate uint32
	playout   uint8 // the playout-delay extension's id; 0: not negotiated
	redPT     uint8 // audio: RED's payload type when the viewer takes it (red.go)
	twcc      uint8 // the transport-wide sequence number extension's id; 0: none
	// RTX (RFC 4588): the retransmission stream's SSRC and payload type;
	// 0 when the viewer did not negotiate it
	rtxSSRC uint32
	rtxPT   uint8
}

// downTrack is one subscriber's outgoing track. It implements webrtc.TrackLocal and
// owns one goroutine that drains its queue, so a slow subscriber delays only
// itself; a steady track on the wire is sent its frames by the fan-out
// instead (fanout.go).
type downTrack struct {
	id, streamID string
	kind         webrtc.RTPCodecType
	codec        webrtc.RTPCodecCapability

	q     chan *frame
	nacks chan []uint16 // sequence numbers a viewer on the wire asks for again
	// queued counts the frames handed to the writer and not yet sent: a
	// fan-out sends a frame itself only when none is (fanout.go).
	queued atomic.Int32
	// mu is held by whoever sends the track's packets: its writer, or a
	// fan-out sending a frame inline. It guards what follows "owned by the
	// sender".
	mu     sync.Mutex
	closed atomic.Bool
	out    atomic.Pointer[binding]
	feed   atomic.Pointer[feed]
	ready  atomic.Bool // the subscriber's transport is up; writes before it are lost
	stats  *counters
	// The feed's layer the track is on (-1 before its first packet), the one
	// it switches to at that layer's next keyframe (equal when not
	// switching), and the one it would like (its allocator's choice). The
	// feed's mutex orders writes of cur and target.
	cur, target, want atomic.Int32
	// limit is the highest layer the viewer may take (its pin or cap;
	// dynacast.go asks the publisher for no more than viewers may take).
	limit atomic.Int32
	// path numbers the viewer's packets and estimates its path (pathest.go);
	// nil for a tap. Set before the track is bound.
	path *pathEstimator
	// cork holds the track's packets to its viewer's address while more
	// wait in its queue, to send them together (cork.go); nil for a tap.
	cork atomic.Pointer[cork]
	// onWire is the track's own write path once its viewer is connected
	// (wire.go); nil on pion's (a tap, a viewer whose keys were not caught).
	onWire atomic.Pointer[wire]
	// padOwed is how many bytes of padding the track still sends, after
	// the frames it forwards, while its allocator probes.
	padOwed atomic.Int64
	padRate atomic.Int64 // bytes/s of the probe under way

	// owned by the sender (mu)
	m       munger
	hdr     rtp.Header
	ext     extBlock        // d.hdr's header extensions (header.go)
	pionExt []rtp.Extension // the same as pion's path takes them, kept for reuse
	playout [3]byte         // the playout-delay extension's payload
	vp8     *vp8Munger      // renumbers VP8 pictures across switches; nil for other codecs
	twccSeq [2]byte         // the transport-wide sequence number extension's payload
	wire    *wire           // onWire, as loaded for the frames being sent
	rtxSeq  uint16          // the RTX stream's next sequence number
	rtx     []byte          // an RTX payload being made
	padAt   int64           // when padding last went out (unix ns)
	// the repair budget's bytes and when it was last filled (mayRepair)
	repairTokens float64
	repairAt     int64
	live         bool  // ready, as loaded for the frames being sent
	corked       *cork // the cork held while pion's path sends a batch
}

func newDownTrack(id, streamID string, kind webrtc.RTPCodecType, codec webrtc.RTPCodecCapability, queueLen int, stats *counters) *downTrack {
	d := &downTrack{
		id: id, streamID: streamID, kind: kind, codec: codec,
		q: make(chan *frame, queueLen), nacks: make(chan []uint16, 16), stats: stats,
	}
	d.m.clockRate = codec.ClockRate
	if strings.EqualFold(codec.MimeType, webrtc.MimeTypeVP8) {
		d.vp8 = &vp8Munger{}
	}
	d.cur.Store(-1)
	d.want.Store(maxLayers - 1)
	d.limit.Store(maxLayers - 1)
	go d.run()
	return d
}

// Bind picks the negotiated codec that matches the one this track will carry:
// for H.264 the same profile if the viewer offered it, else the same
// packetization mode (decoders follow the SPS in the stream).
func (d *downTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	var match *webrtc.RTPCodecParameters
	score := 0
	for _, c := range ctx.CodecParameters() {
		if !strings.EqualFold(c.MimeType, d.codec.MimeType) {
			continue
		}
		s := 1
		if fmtpMatches(c.SDPFmtpLine, d.codec.SDPFmtpLine) {
			s = 2
			if h264Profile(c.SDPFmtpLine) == h264Profile(d.codec.SDPFmtpLine) {
				s = 3
			}
		}
		if s > score {
			match, score = &c, s
		}
	}
	if match == nil {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	b := &binding{w: ctx.WriteStream(), ssrc: uint32(ctx.SSRC()), pt: uint8(match.PayloadType), clockRate: match.ClockRate,
		playout: extensionID(ctx.HeaderExtensions(), playoutDelayURI), twcc: extensionID(ctx.HeaderExtensions(), sdp.TransportCCURI)}
	apt := fmt.Sprintf("apt=%d", match.PayloadType)
	for _, c := range ctx.CodecParameters() {
		if d.kind == webrtc.RTPCodecTypeAudio && isRED(c.MimeType) {
			b.redPT = uint8(c.PayloadType)
		}
		if strings.EqualFold(c.MimeType, webrtc.MimeTypeRTX) && c.SDPFmtpLine == apt && ctx.SSRCRetransmission() != 0 {
			b.rtxSSRC, b.rtxPT = uint32(ctx.SSRCRetransmission()), uint8(c.PayloadType)
		}
	}
	d.out.Store(b)
	return *match, nil
}

func (d *downTrack) Unbind(webrtc.TrackLocalContext) error {
	d.out.Store(nil)
	return nil
}

func (d *downTrack) ID() string                { return d.id }
func (d *downTrack) RID() string               { return "" }
func (d *downTrack) StreamID() string          { return d.streamID }
func (d *downTrack) Kind() webrtc.RTPCodecType { return d.kind }

// attach is called with locks held, so it sends nothing: the first packet that is
// not a keyframe asks for one from the writer goroutine.
func (d *downTrack) attach(f *feed) { d.feed.Store(f) }

func (d *downTrack) detach(f *feed) { d.feed.CompareAndSwap(f, nil) }

// requestKeyframe asks for a keyframe of the layer the track needs one of:
// the one it switches to, else the one it is on.
func (d *downTrack) requestKeyframe() {
	if f := d.feed.Load(); f != nil {
		f.requestKeyframe(d.target.Load())
	}
}

// setLayer makes the track want layer l (clamped to the layers there are),
// and switch to it when its feed has it.
func (d *downTrack) setLayer(l int32) {
	l = max(0, min(l, maxLayers-1))
	d.want.Store(l)
	if f := d.feed.Load(); f != nil {
		f.retarget(d, f.pick(l))
	}
}

func (d *downTrack) enqueue(fr *frame) bool {
	d.queued.Add(1)
	select {
	case d.q <- fr:
		return true
	default:
		d.queued.Add(-1)
		d.stats.dropped.Add(uint64(len(fr.pkts)))
		return false
	}
}

// takeInline locks the track for a fan-out to send a frame of layer to it
// (fanout.go): when its viewer is on the wire and connected, the track is
// steady on that layer and has started, and nothing waits for its writer.
// False leaves the frame to the writer.
func (d *downTrack) takeInline(layer int32) bool {
	if d.onWire.Load() == nil || !d.mu.TryLock() {
		return false
	}
	if d.queued.Load() == 0 && !d.closed.Load() && d.m.started && d.cur.Load() == layer && d.target.Load() == layer {
		d.begin(false)
		if d.wire != nil && d.live {
			return true
		}
	}
	d.mu.Unlock()
	return false
}

// releaseInline ends what takeInline began, once the frame's packets are sent.
func (d *downTrack) releaseInline() { d.mu.Unlock() }

// nack asks the track to send these packets again (a viewer on the wire:
// pion's NACK responder answers the others); false when it is busy with
// earlier requests.
func (d *downTrack) nack(seqs []uint16) bool {
	if d.onWire.Load() == nil {
		return false
	}
	select {
	case d.nacks <- seqs:
		d.wake()
		return true
	default:
		return false
	}
}

// close stops the writer; packets still queued are released.
func (d *downTrack) close() {
	if d.closed.CompareAndSwap(false, true) {
		d.wake()
	}
}

// wake has the writer look at its NACKs and whether it is closed: a nil
// frame in its queue. When the queue is full the writer is busy, and looks
// after the batch it is on.
func (d *downTrack) wake() {
	select {
	case d.q <- nil:
	default:
	}
}

// run is the writer: one channel receive per wake-up (a select over several
// channels costs more, once per frame per viewer).
func (d *downTrack) run() {
	for {
		if fr := <-d.q; fr != nil {
			d.mu.Lock()
			d.begin(len(fr.pkts) > 1 || len(d.q) > 0)
			n, frames := d.sendFrame(fr), int32(1)
			// Frames that queued up meanwhile go out in the same batch.
			for n < maxBatch && len(d.q) > 0 {
				if fr = <-d.q; fr != nil {
					n += d.sendFrame(fr)
					frames++
				}
			}
			d.flush()
			d.queued.Add(-frames)
			d.mu.Unlock()
		}
		if len(d.nacks) > 0 {
			d.mu.Lock()
			for len(d.nacks) > 0 {
				d.resend(<-d.nacks)
			}
			d.mu.Unlock()
		}
		if d.closed.Load() {
			for {
				select {
				case fr := <-d.q:
					if fr != nil {
						d.queued.Add(-1)
						fr.release()
					}
				default:
					return
				}
			}
		}
	}
}

// resend answers a viewer's NACK on the wire. With RTX (RFC 4588) each lost
// packet goes again as a packet of the retransmission stream: its own
// sequence number (the viewer's SRTP would refuse the same index twice, and
// its jitter buffer tells repairs from media by it) and its own
// transport-wide number (the path estimate counts it), the original
// sequence number in front of the payload. Without RTX the packet goes again
// as it was sealed.
func (d *downTrack) resend(seqs []uint16) {
	w, b := d.onWire.Load(), d.out.Load()
	if w == nil || b == nil {
		return
	}
	now, n := time.Now().UnixNano(), 0
	defer func() {
		w.flush()
		d.stats.retransmits.Add(uint64(n))
	}()
	gap := int64(repairGap)
	if d.path != nil {
		gap = gapFor(d.path.RTT())
	}
	budget := func(size int) bool { return d.mayRepair(size, now) }
	for _, seq := range seqs {
		s, spent := w.repair(seq, now, gap, budget)
		if spent {
			return
		}
		if s == nil {
			continue
		}
		if b.rtxSSRC == 0 {
			if w.sendSealed(s) {
				n++
			}
			continue
		}
		plain, ok := w.open(s, seq)
		if !ok {
			continue
		}
		var h rtp.Header
		hl, err := h.Unmarshal(plain)
		if err != nil {
			continue
		}
		payload := plain[hl:]
		payload = payload[:len(payload)-padding(&h, payload)]
		d.rtx = append(append(d.rtx[:0], byte(seq>>8), byte(seq)), payload...)
		d.hdr = rtp.Header{Version: 2, Marker: h.Marker, PayloadType: b.rtxPT, SequenceNumber: d.rtxSeq,
			Timestamp: h.Timestamp, SSRC: b.rtxSSRC}
		d.ext.reset()
		d.rtxSeq++
		d.stamp(b, len(d.rtx), now)
		if _, err := w.sealRepair(&d.hdr, &d.ext, d.rtx, now); err == nil {
			n++
		}
	}
}

// repairShare is the part of a viewer's estimated path that repairs may
// take, so a link that loses packets for want of room is not filled with
// their repairs (a quarter held a viewer that had lost packets on a low
// layer for seconds longer after its link cleared; half did not).
const repairShare = 0.5

// mayRepair takes size bytes from the track's repair budget (repairShare of
// the path's estimate, in bursts of up to 100 ms of it); false when it is
// spent.
func (d *downTrack) mayRepair(size int, now int64) bool {
	if d.path == nil {
		return true
	}
	rate := float64(d.path.GetTargetBitrate()) * repairShare / 8 // bytes/s
	if d.repairAt != 0 {
		d.repairTokens = min(rate/10, d.repairTokens+float64(now-d.repairAt)/1e9*rate)
	} else {
		d.repairTokens = rate / 10
	}
	d.repairAt = now
	if d.repairTokens < float64(size) {
		return false
	}
	d.repairTokens -= float64(size)
	return true
}

// begin starts a batch of packets to the viewer: on the wire they are sealed
// into its ring until flush; on pion's path, when several are about to go,
// its address is corked.
func (d *downTrack) begin(several bool) {
	// ready first: a track is put on the wire before it is made ready.
	d.live = d.ready.Load()
	d.wire = d.onWire.Load()
	if d.wire == nil && several {
		if d.corked = d.cork.Load(); d.corked != nil {
			d.corked.begin()
		}
	}
}

// flush sends the batch begin started.
func (d *downTrack) flush() {
	if d.wire != nil {
		d.wire.flush()
	}
	if d.corked != nil {
		d.corked.flush()
		d.corked = nil
	}
}

// sendNow sends what the batch holds so far (the writer is about to wait).
func (d *downTrack) sendNow() {
	if d.wire != nil {
		d.wire.flush()
	}
	if d.corked != nil {
		d.corked.send()
	}
}

// sendFrame sends fr's packets and lets go of it; it returns how many there were.
func (d *downTrack) sendFrame(fr *frame) int {
	n := d.sendPackets(fr)
	fr.release()
	return n
}

// sendPackets sends fr's packets, into the batch begin started.
func (d *downTrack) sendPackets(fr *frame) int {
	// One clock reading for the frame: its packets leave together.
	now := time.Now().UnixNano()
	for _, p := range fr.pkts {
		d.send(p, now)
	}
	return len(fr.pkts)
}

func (d *downTrack) send(p *packet, now int64) {
	b := d.out.Load()
	f := d.feed.Load()
	if b == nil || f == nil || !d.live || !strings.EqualFold(f.codec.MimeType, d.codec.MimeType) {
		return
	}
	video := d.kind == webrtc.RTPCodecTypeVideo
	if l := int32(p.layer); l != d.cur.Load() {
		// A layer it is switching to starts at a keyframe; any other is a
		// straggler from a layer it left.
		if l != d.target.Load() {
			return
		}
		if video && !p.keyframe && (d.m.started || !f.layers[l].gop.follows(p, now)) {
			f.requestKeyframe(l) // throttled upstream
			return
		}
		was := d.cur.Load()
		if !f.switched(d, l) {
			return
		}
		if was >= 0 {
			d.stats.switches.Add(1)
		}
	}
	if p.src != d.m.src {
		if video && !d.m.started && !p.keyframe && d.replay(f, p, b, now) {
			// started from the layer's GOP; p goes on from there (or was in it)
		} else if video && !p.keyframe {
			f.requestKeyframe(int32(p.layer))
			return
		} else {
			d.m.switchTo(p.src, p.hdr.SequenceNumber, p.hdr.Timestamp, now)
			if d.vp8 != nil {
				d.vp8.switchTo(p.payload)
			}
		}
	}
	seq, ts, ok := d.m.rewrite(p.hdr.SequenceNumber, p.hdr.Timestamp, now)
	if !ok {
		return
	}
	// Header extensions are dropped: their ids were negotiated with the publisher,
	// not this subscriber; the interceptors add the subscriber's own (TWCC).
	d.write(b, p, seq, ts, now)
	if p.hdr.Marker && video && d.padOwed.Load() > 0 {
		d.sendPadding(b, now)
	}
}

// replay starts a track that has sent nothing yet from the GOP of p's
// layer (gop.go), when one is kept from p's upstream and p follows it: the
// GOP's packets go out with their frames' timestamps one tick apart, and the
// munger continues the live stream after the last of them. False when there
// is nothing to replay.
func (d *downTrack) replay(f *feed, p *packet, b *binding, now int64) bool {
	pkts := f.layers[p.layer].gop.snapshot(now)
	defer func() {
		for _, q := range pkts {
			q.release()
		}
	}()
	if len(pkts) == 0 || pkts[0].src != p.src || seqNewer(pkts[0].hdr.SequenceNumber, p.hdr.SequenceNumber) {
		return false
	}
	first := pkts[0]
	d.m.switchTo(first.src, first.hdr.SequenceNumber, first.hdr.Timestamp, now)
	if d.vp8 != nil {
		d.vp8.switchTo(first.payload)
	}
	base := first.hdr.Timestamp + d.m.tsOffset
	frame, ts := uint32(0), first.hdr.Timestamp
	began, sent := time.Now(), 0
	for _, q := range pkts {
		// Paced, so a GOP does not overflow the viewer's socket or the
		// queue of a router on its way.
		if ahead := time.Duration(float64(sent)*8/replayRate*1e9) - time.Since(began); ahead > replayBurst {
			d.sendNow() // what is held goes before the pause
			time.Sleep(ahead)
		}
		sent += len(q.payload)
		if q.hdr.Timestamp != ts {
			frame, ts = frame+1, q.hdr.Timestamp
		}
		seq, _, ok := d.m.rewrite(q.hdr.SequenceNumber, q.hdr.Timestamp, now)
		if !ok {
			continue
		}
		d.write(b, q, seq, base+frame, now)
	}
	// The live stream goes on from the last replayed frame, whose packets
	// (and any before them still queued) are not sent again.
	d.m.tsOffset = base + frame - ts
	d.m.lastTs = base + frame
	d.m.gate = pkts[len(pkts)-1].hdr.SequenceNumber
	d.stats.replays.Add(1)
	return true
}

// A replay goes out at replayRate bits/s, in bursts of up to replayBurst.
const (
	replayRate  = 10e6
	replayBurst = 5 * time.Millisecond
)

// write sends p as seq and ts of the track's stream.
func (d *downTrack) write(b *binding, p *packet, seq uint16, ts uint32, now int64) {
	d.hdr = rtp.Header{
		Version: 2, Padding: p.hdr.Padding, Marker: p.hdr.Marker,
		PayloadType: b.pt, SequenceNumber: seq, Timestamp: ts, SSRC: b.ssrc,
	}
	d.ext.reset()
	if b.playout != 0 {
		_ = d.ext.add(b.playout, d.playout[:])
	}
	payload := p.payload
	if d.vp8 != nil {
		payload = d.vp8.rewrite(payload)
	}
	if p.red { // RED as it is to a viewer that takes it, its primary block to the others
		if b.redPT != 0 {
			d.hdr.PayloadType = b.redPT
		} else if prim, ok := redPrimary(payload); ok {
			payload = prim
		} else {
			return
		}
	}
	d.stamp(b, len(payload), now)
	if n, err := d.emit(b, payload, now); err == nil {
		d.stats.packetsOut.Add(1)
		d.stats.bytesOut.Add(uint64(n))
	}
}

// emit sends d.hdr, d.ext and payload: sealed into the wire's batch, or
// through pion.
func (d *downTrack) emit(b *binding, payload []byte, now int64) (int, error) {
	if d.wire != nil {
		return d.wire.seal(&d.hdr, &d.ext, payload, now)
	}
	d.hdr.Extensions = d.pionExt[:0]
	d.ext.apply(&d.hdr)
	d.pionExt = d.hdr.Extensions
	return b.w.WriteRTP(&d.hdr, payload)
}

// stamp numbers the packet in d.hdr for transport-wide feedback.
func (d *downTrack) stamp(b *binding, payload int, now int64) {
	if b.twcc == 0 || d.path == nil {
		return
	}
	seq := d.path.sent(payload+12, now)
	d.twccSeq = [2]byte{byte(seq >> 8), byte(seq)}
	_ = d.ext.add(b.twcc, d.twccSeq[:])
}

// padPayload is a padding-only packet's payload: 255 bytes of padding, the
// last one saying so (RFC 3550 §5.1). Writers only read it.
var padPayload = func() (b [255]byte) {
	b[254] = 255
	return b
}()

// maxPadPerFrame bounds the padding packets sent after one frame.
const maxPadPerFrame = 32

// maxPadOwed caps a probe's backlog of padding, in bytes.
const maxPadOwed = 1 << 20

// padBurst bounds the padding sent after one frame to what the probe's rate
// gives this long: a probe's padding is spread over the frames, not sent in
// a burst after the first (a shaped link would drop that burst, and the
// probe would seem to fail).
const padBurst = 50 * time.Millisecond

// pad adds bytes of padding for the track to send between frames, spread
// over the allocator's next tick.
func (d *downTrack) pad(bytes float64) {
	if bytes <= 0 {
		return
	}
	d.padRate.Store(int64(bytes / allocTick.Seconds()))
	if v := d.padOwed.Add(int64(bytes)); v > maxPadOwed {
		d.padOwed.Store(maxPadOwed)
	}
}

// sendPadding sends padding-only packets after the end of a frame (so no
// frame is split by them) while the track owes some: what the probe's rate
// gives since the last padding, up to padBurst of it, and at least a packet.
func (d *downTrack) sendPadding(b *binding, now int64) {
	since := min(now-d.padAt, int64(padBurst))
	if d.padAt == 0 {
		since = int64(padBurst)
	}
	allowance := max(d.padRate.Load()*since/int64(time.Second), int64(len(padPayload)))
	sent := int64(0)
	for range maxPadPerFrame {
		if d.padOwed.Load() <= 0 || sent+int64(len(padPayload)) > allowance {
			break
		}
		seq, ts := d.m.pad()
		d.hdr = rtp.Header{Version: 2, Padding: true, PayloadType: b.pt, SequenceNumber: seq, Timestamp: ts, SSRC: b.ssrc}
		d.ext.reset()
		d.stamp(b, len(padPayload), now)
		n, err := d.emit(b, padPayload[:], now)
		if err != nil {
			break
		}
		sent += int64(len(padPayload))
		d.padOwed.Add(-int64(len(padPayload)))
		d.stats.padding.Add(uint64(n))
	}
	if sent > 0 {
		d.padAt = now
	}
}

// fmtpMatches compares the parameter that makes H.264 streams incompatible.
func fmtpMatches(a, b string) bool {
	return strings.Contains(a, "packetization-mode=1") == strings.Contains(b, "packetization-mode=1")
}
