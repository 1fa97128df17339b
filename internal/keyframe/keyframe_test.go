package keyframe

import (
	"encoding/binary"
	"testing"

	"github.com/pion/rtp/codecs"
)

// vp8Key and vp8Delta are the first bytes of a VP8 keyframe (frame tag with
// P=0, start code, 640x360) and of a delta frame (P=1).
var (
	vp8Key   = []byte{0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01, 0xaa}
	vp8Delta = []byte{0x31, 0x42, 0x00, 0xaa, 0xbb, 0xcc, 0xdd, 0xee}
)

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func TestVP8Keyframe(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		want    bool
	}{
		{"keyframe, no extension", cat([]byte{0x10}, vp8Key), true},
		{"delta, no extension", cat([]byte{0x10}, vp8Delta), false},
		{"keyframe, 7-bit picture id", cat([]byte{0x90, 0x80, 0x12}, vp8Key), true},
		{"keyframe, 15-bit picture id", cat([]byte{0x90, 0x80, 0x81, 0x23}, vp8Key), true},
		{"keyframe, picture id, TL0PICIDX, TID", cat([]byte{0x90, 0xe0, 0x81, 0x23, 0x05, 0x40}, vp8Key), true},
		{"delta, 15-bit picture id", cat([]byte{0x90, 0x80, 0x81, 0x23}, vp8Delta), false},
		{"continuation packet (S=0)", cat([]byte{0x00}, vp8Key), false},
		{"second partition (PID=1)", cat([]byte{0x11}, vp8Key), false},
		{"keyframe bit without start code", cat([]byte{0x10}, []byte{0x50, 0x42, 0x00, 0, 0, 0, 0}), false},
		{"truncated", []byte{0x90, 0x80}, false},
		{"empty", nil, false},
	}
	for _, tt := range tests {
		if got := isVP8Keyframe(tt.payload); got != tt.want {
			t.Errorf("%s: isVP8Keyframe = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestH264Keyframe(t *testing.T) {
	sps := []byte{0x67, 0x42, 0xe0, 0x1f, 0xaa}
	pps := []byte{0x68, 0xce, 0x3c, 0x80}
	idr := []byte{0x65, 0x88, 0x84, 0x00}
	slice := []byte{0x41, 0x9a, 0x02}
	stap := func(hdr byte, nals ...[]byte) []byte {
		b := []byte{hdr}
		for _, n := range nals {
			b = binary.BigEndian.AppendUint16(b, uint16(len(n)))
			b = append(b, n...)
		}
		return b
	}
	tests := []struct {
		name    string
		payload []byte
		want    bool
	}{
		{"single IDR", idr, true},
		{"single SPS", sps, true},
		{"single PPS", pps, false},
		{"single non-IDR slice", slice, false},
		{"STAP-A SPS PPS", stap(0x78, sps, pps), true},
		{"STAP-A PPS then IDR", stap(0x78, pps, idr), true},
		{"STAP-A non-IDR only", stap(0x78, pps, slice), false},
		{"STAP-A truncated size", []byte{0x78, 0x00, 0x09, 0x67}, false},
		{"STAP-B with DON, SPS", append([]byte{0x79, 0x00, 0x01}, stap(0, sps)[1:]...), true},
		{"FU-A start of IDR", []byte{0x7c, 0x85, 0xaa, 0xbb}, true},
		{"FU-A middle of IDR", []byte{0x7c, 0x05, 0xaa, 0xbb}, false},
		{"FU-A end of IDR", []byte{0x7c, 0x45, 0xaa, 0xbb}, false},
		{"FU-A start of non-IDR", []byte{0x7c, 0x81, 0xaa, 0xbb}, false},
		{"FU-A header only", []byte{0x7c}, false},
		{"empty", nil, false},
	}
	for _, tt := range tests {
		if got := isH264Keyframe(tt.payload); got != tt.want {
			t.Errorf("%s: isH264Keyframe = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// pion's own H.264 payloader: an access unit of SPS, PPS and a large IDR
// gives a STAP-A and FU-A packets of which exactly the keyframe-starting ones
// are detected.
func TestH264KeyframeFromPayloader(t *testing.T) {
	idr := make([]byte, 3000)
	idr[0] = 0x65
	au := cat([]byte{0, 0, 0, 1, 0x67, 0x42, 0xe0, 0x1f}, []byte{0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80}, []byte{0, 0, 0, 1}, idr)
	pay := &codecs.H264Payloader{}
	packets := pay.Payload(1200, au)
	if len(packets) < 3 {
		t.Fatalf("%d packets, want a STAP-A and FU-As", len(packets))
	}
	var keys int
	for _, p := range packets {
		if isH264Keyframe(p) {
			keys++
		}
	}
	// The STAP-A (SPS) and the first FU-A (IDR start) are keyframe packets.
	if keys != 2 {
		t.Errorf("%d keyframe packets, want 2", keys)
	}
	delta := make([]byte, 3000)
	delta[0] = 0x41
	for _, p := range pay.Payload(1200, cat([]byte{0, 0, 0, 1}, delta)) {
		if isH264Keyframe(p) {
			t.Error("a non-IDR FU-A was taken for a keyframe")
		}
	}
}

func TestVP9AndAV1Keyframe(t *testing.T) {
	if !isVP9Keyframe([]byte{0x88, 0x01}) { // I, B; P=0
		t.Error("VP9 start of an intra frame not detected")
	}
	if isVP9Keyframe([]byte{0xc8, 0x01}) { // P=1
		t.Error("VP9 inter frame taken for a keyframe")
	}
	if isVP9Keyframe([]byte{0x80, 0x01}) { // B=0
		t.Error("VP9 middle packet taken for a keyframe")
	}
	if !isAV1Keyframe([]byte{0x18}) || isAV1Keyframe([]byte{0x10}) {
		t.Error("AV1 N bit not read right")
	}
}

// The synthetic VP8 source's frames, packetized by pion's VP8 payloader as a
// TrackLocalStaticSample does, pass the viewer's keyframe detector exactly
// on keyframes, and a requested keyframe comes next.
