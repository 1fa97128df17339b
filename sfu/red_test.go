package sfu

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// redPayload is RFC 2198 RED with one redundant block (older) and the
// primary.
func redPayload(redundant, primary []byte) []byte {
	b := []byte{0x80 | 111, 0x00, byte(len(redundant) >> 8 & 0x03), byte(len(redundant)), 111}
	b = append(b, redundant...)
	return append(b, primary...)
}

func TestREDPrimary(t *testing.T) {
	prim, ok := redPrimary(redPayload([]byte("old frame"), []byte("new frame")))
	if !ok || string(prim) != "new frame" {
		t.Fatalf("primary %q %v", prim, ok)
	}
	if prim, ok := redPrimary([]byte{111, 1, 2, 3}); !ok || !bytes.Equal(prim, []byte{1, 2, 3}) {
		t.Fatalf("primary only: %v %v", prim, ok)
	}
	for _, bad := range [][]byte{nil, {0x80 | 111, 0, 0}, {0x80 | 111, 0, 0x03, 0xff, 111, 1}} {
		if _, ok := redPrimary(bad); ok {
			t.Errorf("% x taken", bad)
		}
	}
}

// A RED packet goes as it is to a viewer that negotiated RED, under its
// payload type; a viewer without RED gets the primary block as Opus.
func TestREDToEachViewer(t *testing.T) {
	var st counters
	ac, _ := capability("audio/opus")
	f := newFeed(webrtc.RTPCodecTypeAudio, ac)
	red, plain := &payloadSink{}, &payloadSink{}
	for _, c := range []struct {
		w  *payloadSink
		pt uint8
	}{{red, 63}, {plain, 0}} {
		d := newDownTrack("a", "s", f.kind, f.codec, 16, &st)
		d.out.Store(&binding{w: c.w, ssrc: 9, pt: 111, clockRate: 48000, redPT: c.pt})
		d.ready.Store(true)
		f.add(d)
		t.Cleanup(d.close)
	}
	u := &upstream{throttle: time.Hour, stats: &st}
	raw, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 63, SequenceNumber: 1, Timestamp: 960, SSRC: 5},
		Payload: redPayload([]byte("previous"), []byte("current"))}).Marshal()
	p := rtpPacket(f, u, 0, raw, false, false)
	p.red = true
	f.forward(p)
	p.release()
	eventually(t, "both viewers", func() bool { return red.got() != nil && plain.got() != nil })
	if g := red.got(); g.pt != 63 || !bytes.Equal(g.payload, redPayload([]byte("previous"), []byte("current"))) {
		t.Fatalf("RED viewer got pt %d % x", g.pt, g.payload)
	}
	if g := plain.got(); g.pt != 111 || string(g.payload) != "current" {
		t.Fatalf("plain viewer got pt %d %q", g.pt, g.payload)
	}
}

type sent struct {
	pt      uint8
	payload []byte
}

// payloadSink keeps the first packet written to it.
type payloadSink struct {
	sinkWriter
	first *sent
}

func (w *payloadSink) WriteRTP(h *rtp.Header, p []byte) (int, error) {
	w.mu.Lock()
	if w.first == nil {
		w.first = &sent{pt: h.PayloadType, payload: bytes.Clone(p)}
	}
	w.mu.Unlock()
	return len(p), nil
}

func (w *payloadSink) got() *sent {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.first
}
