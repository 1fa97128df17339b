package client

import (
	"context"
	"testing"
	"time"

	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/onair-live/onair/internal/keyframe"
)

func TestMarkerRoundTrip(t *testing.T) {
	sent := time.Unix(1_800_000_000, 123_456_789)
	for _, key := range []bool{true, false} {
		frame := make([]byte, 40)
		if !key {
			frame[0] = 0x01 // inter frame: a 3-byte header
		}
		m := Marker{Layer: 2, Layers: 3, Frame: 0xfffffffe, Sent: sent}
		if !putMarker(frame, m) {
			t.Fatalf("key %v: putMarker refused a 40-byte frame", key)
		}
		at := map[bool]int{true: 10, false: 3}[key]
		if string(frame[at:at+4]) != "oAir" {
			t.Errorf("key %v: marker not at byte %d: % x", key, at, frame)
		}
		got, ok := ReadMarker(frame)
		if !ok || got.Layer != 2 || got.Layers != 3 || got.Frame != 0xfffffffe || !got.Sent.Equal(sent) {
			t.Errorf("key %v: ReadMarker = %+v, %v", key, got, ok)
		}
	}
	// The smallest frames that hold one.
	if !putMarker(make([]byte, 10+MarkerSize), Marker{Layers: 1}) || putMarker(make([]byte, 10+MarkerSize-1), Marker{Layers: 1}) {
		t.Error("a keyframe of 10+MarkerSize bytes holds a marker, one byte less does not")
	}
	if !putMarker(append([]byte{1}, make([]byte, 2+MarkerSize)...), Marker{Layers: 1}) {
		t.Error("an inter frame of 3+MarkerSize bytes holds a marker")
	}
}

func TestReadMarkerWithout(t *testing.T) {
	good := make([]byte, 30)
	putMarker(good, Marker{Layer: 0, Layers: 1, Sent: time.Now()})
	bad := func(edit func(b []byte) []byte) []byte { return edit(append([]byte(nil), good...)) }
	for name, frame := range map[string][]byte{
		"nil":   nil,
		"short": good[:10+MarkerSize-1],
		// A keyframe of a real encoder (libvpx, 640x360): the first partition follows the header.
		"libvpx keyframe": {0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01, 0x00, 0x47, 0x08, 0x85, 0x85,
			0x88, 0x85, 0x84, 0x88, 0x02, 0x02, 0x00, 0x06, 0x16, 0x04, 0xf7, 0x06, 0x81, 0x64, 0x9f},
		"zeros":             make([]byte, 64),
		"other magic":       bad(func(b []byte) []byte { b[10] = 'O'; return b }),
		"no layers":         bad(func(b []byte) []byte { b[15] = 0; return b }),
		"layer past layers": bad(func(b []byte) []byte { b[14] = 1; return b }),
		"inter frame tag":   bad(func(b []byte) []byte { b[0] |= 1; return b }), // the marker is not at byte 3
	} {
		if m, ok := ReadMarker(frame); ok {
			t.Errorf("%s: ReadMarker = %+v, true", name, m)
		}
	}
}

// Every synthetic frame carries a Marker with its layer, a rising number and
// the time it was made, and its first RTP packet is still a keyframe to the
// SFU's detector when the frame is one; a simulcast layer's keyframes have
// its frame size.
func TestSyntheticMarkers(t *testing.T) {
	pay := &codecs.VP8Payloader{EnablePictureID: true}
	sources := []*SyntheticVP8{NewSyntheticVP8(1000, 1_000)} // the smallest frames
	for _, l := range NewSyntheticSimulcast(1000, 2_000_000) {
		sources = append(sources, l.Source.(*SyntheticVP8))
	}
	for i, s := range sources {
		for n := range 5 {
			if n == 3 {
				s.RequestKeyframe()
			}
			before := time.Now()
			smp, err := s.NextSample(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			m, ok := ReadMarker(smp.Data)
			wantLayer, wantLayers := max(i-1, 0), map[bool]int{true: 1, false: 3}[i == 0]
			if !ok || m.Layer != wantLayer || m.Layers != wantLayers || m.Frame != uint32(n) ||
				m.Sent.Before(before.Add(-time.Millisecond)) || m.Sent.After(time.Now()) {
				t.Fatalf("source %d frame %d: marker %+v, %v", i, n, m, ok)
			}
			key := n == 0 || n == 3
			first := pay.Payload(1200, smp.Data)[0]
			if keyframe.Is(webrtc.MimeTypeVP8, first) != key {
				t.Errorf("source %d frame %d: keyframe %v, detector says otherwise", i, n, key)
			}
			if key && i > 0 {
				if w, h := int(smp.Data[6])|int(smp.Data[7])<<8, int(smp.Data[8])|int(smp.Data[9])<<8; w != simulcastClass[i-1].width ||
					h != simulcastClass[i-1].height {
					t.Errorf("layer %d keyframe %dx%d", i-1, w, h)
				}
			}
		}
	}
}

// The publisher restamps a frame's Marker in its first packet only, whatever
// the descriptor (pion's payloader with and without picture ids).
func TestRestampMarker(t *testing.T) {
	created := time.Unix(1_800_000_000, 0)
	out := time.Unix(1_800_000_000, 5_000_000)
	for _, pictureID := range []bool{false, true} {
		frame := make([]byte, 3000) // a keyframe cut into several packets
		if !putMarker(frame, Marker{Layer: 1, Layers: 3, Frame: 9, Sent: created}) {
			t.Fatal("putMarker refused")
		}
		pay := &codecs.VP8Payloader{EnablePictureID: pictureID}
		packets := pay.Payload(1200, frame)
		if len(packets) < 3 {
			t.Fatalf("%d packets", len(packets))
		}
		for _, p := range packets {
			restampMarker(p, out)
		}
		var d codecs.VP8Packet
		first, err := d.Unmarshal(packets[0])
		if err != nil {
			t.Fatal(err)
		}
		m, ok := ReadMarker(first)
		if !ok || !m.Sent.Equal(out) || m.Frame != 9 || m.Layer != 1 {
			t.Errorf("picture id %v: first packet's marker %+v, %v; want sent %v", pictureID, m, ok, out)
		}
		// Only the marker's time changed: the rest of the frame is intact.
		var whole []byte
		for _, p := range packets {
			b, err := (&codecs.VP8Packet{}).Unmarshal(p)
			if err != nil {
				t.Fatal(err)
			}
			whole = append(whole, b...)
		}
		putMarker(frame, Marker{Layer: 1, Layers: 3, Frame: 9, Sent: out})
		if string(whole) != string(frame) {
			t.Errorf("picture id %v: restamping changed more than the send time", pictureID)
		}
	}
	// Packets that start no frame, or carry no marker, are left alone.
	for _, p := range [][]byte{nil, {0x00, 1, 2, 3}, {0x10}, append([]byte{0x10}, make([]byte, 40)...)} {
		before := string(p)
		restampMarker(p, out)
		if string(p) != before {
			t.Errorf("% x was changed", before)
		}
	}
}

// Only a packet's first transmission is restamped: a NACK responder's resend
// of an older one keeps the send time it went out with.
func TestFirstSends(t *testing.T) {
	var f firstSends
	for _, c := range []struct {
		seq   uint16
		first bool
	}{{65534, true}, {65535, true}, {65535, false}, {0, true}, {65534, false}, {1, true}, {1, false}, {5, true}, {3, false}} {
		if got := f.isFirst(c.seq); got != c.first {
			t.Errorf("seq %d: first %v, want %v", c.seq, got, c.first)
		}
	}
}
