package client

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/onair-live/onair/internal/keyframe"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

func TestSyntheticVP8Keyframes(t *testing.T) {
	s := NewSyntheticVP8(50, 400_000)
	if s.keyEvery != 100 {
		t.Fatalf("keyframe every %d frames at 50 fps, want 100 (2 s)", s.keyEvery)
	}
	s.keyEvery = 10 // keep the test short
	pay := &codecs.VP8Payloader{EnablePictureID: true}
	ctx := context.Background()
	var keys []int
	for i := range 30 {
		if i == 3 {
			s.RequestKeyframe()
		}
		smp, err := s.NextSample(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if smp.Duration != 20*time.Millisecond {
			t.Fatalf("duration %v, want 20ms", smp.Duration)
		}
		key := smp.Data[0]&0x01 == 0
		if key {
			keys = append(keys, i)
			if w, h := binary.LittleEndian.Uint16(smp.Data[6:]), binary.LittleEndian.Uint16(smp.Data[8:]); w != 640 || h != 360 {
				t.Fatalf("keyframe size %dx%d", w, h)
			}
		}
		if first := int(binary.LittleEndian.Uint32(append(smp.Data[:3:3], 0)) >> 5); first > len(smp.Data) {
			t.Fatalf("first partition size %d > frame %d", first, len(smp.Data))
		}
		packets := pay.Payload(1200, smp.Data)
		for j, p := range packets {
			if got := keyframe.Is(webrtc.MimeTypeVP8, p); got != (key && j == 0) {
				t.Fatalf("frame %d (key %v) packet %d: isVP8Keyframe = %v", i, key, j, got)
			}
		}
	}
	// The first frame, the requested one, then every 10 frames after it.
	if fmt.Sprint(keys) != "[0 3 13 23]" {
		t.Errorf("keyframes at %v, want [0 3 13 23]", keys)
	}
	if s.Keyframes() != 4 {
		t.Errorf("Keyframes() = %d, want 4", s.Keyframes())
	}
}

// observe, and the Unmarshal before it, allocate nothing per packet.
func TestObserveDoesNotAllocate(t *testing.T) {
	ts := newTrackState(webrtc.RTPCodecTypeVideo, webrtc.MimeTypeVP8, time.Now())
	src := rtp.Packet{
		Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: 1, Timestamp: 1, SSRC: 5, Marker: true},
		// Payload descriptor with a picture id, then a keyframe's frame tag and start code.
		Payload: []byte{0x90, 0x80, 0x12, 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01, 0xaa},
	}
	if err := src.SetExtension(3, []byte{0x01, 0x02}); err != nil {
		t.Fatal(err)
	}
	var pkt rtp.Packet
	buf := make([]byte, 1500)
	allocs := testing.AllocsPerRun(1000, func() {
		src.SequenceNumber++
		src.Timestamp += 3000
		n, err := src.MarshalTo(buf)
		if err != nil {
			t.Fatal(err)
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			t.Fatal(err)
		}
		ts.observe(&pkt, n, time.Second)
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per packet, want 0", allocs)
	}
	if st := ts.snapshot(); st.Keyframes == 0 || st.Missing != 0 || st.Frames != st.Packets {
		t.Errorf("stats %+v", st)
	}
}
