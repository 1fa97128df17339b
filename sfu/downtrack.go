package sfu

import (
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// binding is what pion hands a downTrack when the subscriber's answer is applied.
type binding struct {
	w         webrtc.TrackLocalWriter
	ssrc      uint32
	pt        uint8
	clockRate uint32
}

// downTrack is one subscriber's outgoing track. It implements webrtc.TrackLocal and
// owns one goroutine that drains its queue, so a slow subscriber delays only itself.
type downTrack struct {
	id, streamID string
	kind         webrtc.RTPCodecType
	codec        webrtc.RTPCodecCapability

	q     chan *packet
	done  chan struct{}
	out   atomic.Pointer[binding]
	feed  atomic.Pointer[feed]
	ready atomic.Bool // the subscriber's transport is up; writes before it are lost
	stats *counters

	// owned by the run goroutine
	m   munger
	hdr rtp.Header
}

func newDownTrack(id, streamID string, kind webrtc.RTPCodecType, codec webrtc.RTPCodecCapability, queueLen int, stats *counters) *downTrack {
	d := &downTrack{
		id: id, streamID: streamID, kind: kind, codec: codec,
		q: make(chan *packet, queueLen), done: make(chan struct{}), stats: stats,
	}
	d.m.clockRate = codec.ClockRate
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
	d.out.Store(&binding{w: ctx.WriteStream(), ssrc: uint32(ctx.SSRC()), pt: uint8(match.PayloadType), clockRate: match.ClockRate})
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

func (d *downTrack) enqueue(p *packet) bool {
	select {
	case d.q <- p:
		return true
	default:
		d.stats.dropped.Add(1)
		return false
	}
}

// close stops the writer; packets still queued are released.
func (d *downTrack) close() {
	select {
	case <-d.done:
	default:
		close(d.done)
	}
}

func (d *downTrack) run() {
	for {
		select {
		case p := <-d.q:
			d.send(p)
			p.release()
		case <-d.done:
			for {
				select {
				case p := <-d.q:
					p.release()
				default:
					return
				}
			}
		}
	}
}

func (d *downTrack) send(p *packet) {
	b := d.out.Load()
	f := d.feed.Load()
	if b == nil || f == nil || !d.ready.Load() || !strings.EqualFold(f.codec.MimeType, d.codec.MimeType) {
		return
	}
	now := time.Now().UnixNano()
	if p.src != d.m.src {
		if d.kind == webrtc.RTPCodecTypeVideo && !p.keyframe {
			f.requestKeyframe() // throttled upstream
			return
		}
		d.m.switchTo(p.src, p.hdr.SequenceNumber, p.hdr.Timestamp, now)
	}
	seq, ts, ok := d.m.rewrite(p.hdr.SequenceNumber, p.hdr.Timestamp, now)
	if !ok {
		return
	}
	// Header extensions are dropped: their ids were negotiated with the publisher,
	// not this subscriber; the interceptors add the subscriber's own (TWCC).
	d.hdr = rtp.Header{
		Version: 2, Padding: p.hdr.Padding, Marker: p.hdr.Marker,
		PayloadType: b.pt, SequenceNumber: seq, Timestamp: ts, SSRC: b.ssrc,
		Extensions: d.hdr.Extensions[:0],
	}
	if n, err := b.w.WriteRTP(&d.hdr, p.payload); err == nil {
		d.stats.packetsOut.Add(1)
		d.stats.bytesOut.Add(uint64(n))
	}
}

// fmtpMatches compares the parameter that makes H.264 streams incompatible.
func fmtpMatches(a, b string) bool {
	return strings.Contains(a, "packetization-mode=1") == strings.Contains(b, "packetization-mode=1")
}
