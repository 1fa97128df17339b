package client

import (
	"strings"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// countingFactory builds, for one peer connection, an interceptor that counts
// the RTP packets and bytes of each local stream into the senderCounters of
// its simulcast layer (and so of the video track) or else of its kind.
// Registered first, it sits closest to the wire and so also sees
// retransmissions and the header extensions the other interceptors add; it
// stamps each VP8 frame's Marker with the time its first packet goes out.
type countingFactory struct {
	video, audio *senderCounters
	layers       *layerSSRCs
}

func (f *countingFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &countingInterceptor{f: f}, nil
}

type countingInterceptor struct {
	interceptor.NoOp
	f *countingFactory
}

func (i *countingInterceptor) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	c := i.f.audio
	if strings.HasPrefix(strings.ToLower(info.MimeType), "video/") {
		c = i.f.video
	}
	if l, ok := i.f.layers.get(info.SSRC); ok {
		c = l.c
	}
	if c == nil {
		return w
	}
	c.ssrc.CompareAndSwap(0, info.SSRC)
	var first firstSends
	vp8 := strings.EqualFold(info.MimeType, "video/vp8")
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if vp8 && h.SSRC == info.SSRC && first.isFirst(h.SequenceNumber) {
			restampMarker(payload, time.Now())
		}
		n, err := w.Write(h, payload, a)
		if err == nil {
			size := uint64(h.MarshalSize() + len(payload))
			for c := c; c != nil; c = c.parent {
				c.packets.Add(1)
				c.bytes.Add(size)
			}
		}
		return n, err
	})
}

// firstSends tells a packet's first transmission from a resend (the NACK
// responder's copies pass here too): a first one is newer than all before.
type firstSends struct {
	mu   sync.Mutex
	seen bool
	last uint16
}

func (f *firstSends) isFirst(seq uint16) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seen && int16(seq-f.last) <= 0 {
		return false
	}
	f.seen, f.last = true, seq
	return true
}
