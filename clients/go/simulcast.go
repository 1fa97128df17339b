package client

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Layer is one encoding of a simulcast video track (RFC 8853): its RTP
// stream id (RID, RFC 8851) and the source of its samples.
type Layer struct {
	RID    string
	Source Source
}

// SimulcastRIDs are the RIDs of the layers NewSyntheticSimulcast makes, from
// the smallest to the largest: quarter, half and full resolution. The server
// takes rid-based simulcast under these names.
var SimulcastRIDs = []string{"q", "h", "f"}

// simulcastClass is a layer's share of the full layer's bit rate and its
// frame size, in the order of SimulcastRIDs.
var simulcastClass = []struct {
	div           int
	width, height int
}{{16, 320, 180}, {4, 640, 360}, {1, 1280, 720}}

// NewSyntheticSimulcast returns three synthetic VP8 layers with the RIDs of
// SimulcastRIDs: 320x180 at 1/16 of fullBitrateBps, 640x360 at 1/4 and
// 1280x720 at fullBitrateBps (1 Mbit/s when not positive), each at fps frames
// per second. Each frame's Marker names its layer (0, 1, 2 of 3); each layer
// makes a keyframe when its own RTP stream gets a PLI or FIR.
func NewSyntheticSimulcast(fps, fullBitrateBps int) []Layer {
	if fullBitrateBps <= 0 {
		fullBitrateBps = 1_000_000
	}
	layers := make([]Layer, len(SimulcastRIDs))
	for i, rid := range SimulcastRIDs {
		c := simulcastClass[i]
		layers[i] = Layer{RID: rid, Source: newSyntheticVP8(fps, fullBitrateBps/c.div, c.width, c.height, i, len(SimulcastRIDs))}
	}
	return layers
}

// PublishSimulcast is Publish with the video sent as several encodings of one
// track, as browsers send simulcast: one m=video section whose offer lists
// each layer as "a=rid:<rid> send" and all of them in "a=simulcast:send
// q;h;f" (RFC 8853 section 5.1), in the order given, and negotiates the MID
// and RID header extensions (RFC 8843 section 15, RFC 8852 section 3.3),
// which every RTP packet of a layer then carries so that the server can tell
// the layers apart without a=ssrc lines. A PLI or FIR for a layer's stream
// asks that layer's source for a keyframe.
//
// There must be at least two layers with distinct RIDs (letters, digits, '-'
// and '_'), all of one video codec. audio may be nil. Publish's rules on
// ownership, ctx and errors hold. A server that does not take simulcast may
// refuse the offer or forward a single layer.
func PublishSimulcast(ctx context.Context, o Options, layers []Layer, audio Source) (*Publisher, error) {
	var p *Publisher
	err := checkLayers(layers)
	if err == nil {
		p, err = publish(ctx, o, nil, layers, audio)
	}
	if err != nil {
		for _, l := range layers {
			if l.Source != nil {
				_ = l.Source.Close()
			}
		}
		if audio != nil {
			_ = audio.Close()
		}
		return nil, err
	}
	return p, nil
}

func checkLayers(layers []Layer) error {
	if len(layers) < 2 {
		return fmt.Errorf("onair: simulcast needs at least two layers, not %d", len(layers))
	}
	seen := map[string]bool{}
	for i, l := range layers {
		if l.Source == nil {
			return fmt.Errorf("onair: simulcast layer %d has no source", i)
		}
		if !validRID(l.RID) {
			return fmt.Errorf("onair: simulcast layer %d: RID %q is not letters, digits, '-' and '_'", i, l.RID)
		}
		if seen[l.RID] {
			return fmt.Errorf("onair: simulcast RID %q is used twice", l.RID)
		}
		seen[l.RID] = true
		if sourceKind(l.Source) != webrtc.RTPCodecTypeVideo {
			return fmt.Errorf("onair: simulcast layer %q produces %s, not video", l.RID, l.Source.Codec().MimeType)
		}
		if c, first := l.Source.Codec().MimeType, layers[0].Source.Codec().MimeType; !strings.EqualFold(c, first) {
			return fmt.Errorf("onair: simulcast layer %q is %s, layer %q %s: one codec for all", l.RID, c, layers[0].RID, first)
		}
	}
	return nil
}

// validRID reports whether s is a rid-id (RFC 8851 section 10: 1*(ALPHA /
// DIGIT / "-" / "_")), kept to 16 characters as browsers do.
func validRID(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// layerSSRCs tells the interceptors which local RTP streams are simulcast
// layers: filled before the offer, read when the streams are bound.
type layerSSRCs struct {
	mu sync.Mutex
	m  map[uint32]layerSSRC
}

type layerSSRC struct {
	tr  *webrtc.RTPTransceiver // its MID is set by the time streams are bound
	rid string
	c   *senderCounters
}

func (l *layerSSRCs) add(ssrc uint32, s layerSSRC) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[uint32]layerSSRC{}
	}
	l.m[ssrc] = s
}

func (l *layerSSRCs) get(ssrc uint32) (layerSSRC, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.m[ssrc]
	return s, ok
}

// sdesFactory builds, for one peer connection, the interceptor that writes
// the MID and RID header extensions (the RTCP SDES items of RFC 8843 and
// RFC 8852, carried in RTP) into every packet of a simulcast layer, the way
// browsers do. Registered inside the default interceptors, it also stamps
// NACK retransmissions. The IDs come from the negotiated extensions: when
// the answer did not take an extension, it is not written.
type sdesFactory struct {
	layers *layerSSRCs
}

func (f *sdesFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &sdesInterceptor{f: f}, nil
}

type sdesInterceptor struct {
	interceptor.NoOp
	f *sdesFactory
}

func (i *sdesInterceptor) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	s, ok := i.f.layers.get(info.SSRC)
	if !ok {
		return w
	}
	var midID, ridID uint8
	for _, e := range info.RTPHeaderExtensions {
		switch e.URI {
		case sdp.SDESMidURI:
			midID = uint8(e.ID)
		case sdp.SDESRTPStreamIDURI:
			ridID = uint8(e.ID)
		}
	}
	mid, rid := []byte(s.tr.Mid()), []byte(s.rid)
	if midID == 0 && ridID == 0 {
		return w
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if midID != 0 && len(mid) > 0 {
			if err := h.SetExtension(midID, mid); err != nil {
				return 0, err
			}
		}
		if ridID != 0 {
			if err := h.SetExtension(ridID, rid); err != nil {
				return 0, err
			}
		}
		return w.Write(h, payload, a)
	})
}
