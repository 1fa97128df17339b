package sfu

import "testing"

func TestIsKeyframe(t *testing.T) {
	cases := []struct {
		name  string
		codec codecKind
		p     []byte
		want  bool
	}{
		{"vp8 key no ext", codecVP8, []byte{0x10, 0x00, 0x9d, 0x01, 0x2a}, true},
		{"vp8 inter", codecVP8, []byte{0x10, 0x01}, false},
		{"vp8 key 15-bit picture id", codecVP8, []byte{0x90, 0x80, 0x81, 0x02, 0x10}, true},
		{"vp8 inter 15-bit picture id", codecVP8, []byte{0x90, 0x80, 0x81, 0x02, 0x11}, false},
		{"vp8 key with tl0 and tid", codecVP8, []byte{0x90, 0xe0, 0x05, 0x01, 0x20, 0x00}, true},
		{"vp8 continuation", codecVP8, []byte{0x00, 0x00}, false},
		{"vp8 second partition", codecVP8, []byte{0x11, 0x00}, false},
		{"vp8 truncated", codecVP8, []byte{0x90}, false},
		{"vp8 empty", codecVP8, nil, false},
		{"h264 idr", codecH264, []byte{0x65, 0x88}, true},
		{"h264 sps", codecH264, []byte{0x67, 0x42}, true},
		{"h264 non-idr", codecH264, []byte{0x41, 0x9a}, false},
		{"h264 stap-a sps", codecH264, []byte{0x18, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce}, true},
		{"h264 stap-a sei only", codecH264, []byte{0x18, 0x00, 0x02, 0x06, 0x05}, false},
		{"h264 stap-a bad size", codecH264, []byte{0x18, 0x00, 0x09, 0x67}, false},
		{"h264 fu-a idr start", codecH264, []byte{0x7c, 0x85, 0x00}, true},
		{"h264 fu-a idr middle", codecH264, []byte{0x7c, 0x05, 0x00}, false},
		{"h264 fu-a non-idr start", codecH264, []byte{0x7c, 0x81, 0x00}, false},
		{"vp9 key", codecVP9, []byte{0x08 | 0x04}, true},
		{"vp9 inter", codecVP9, []byte{0x48}, false},
		{"vp9 key upper spatial layer", codecVP9, []byte{0x28, 0x02}, false},
		{"vp9 key base layer with picture id", codecVP9, []byte{0xa8, 0x81, 0x00, 0x00}, true},
		{"av1 new sequence", codecAV1, []byte{0x08}, true},
		{"av1 continuation", codecAV1, []byte{0x80}, false},
		{"opus always", codecOther, []byte{0xfc}, true},
	}
	for _, c := range cases {
		if got := isKeyframe(c.codec, c.p); got != c.want {
			t.Errorf("%s: isKeyframe(% x) = %v, want %v", c.name, c.p, got, c.want)
		}
	}
}

func FuzzIsKeyframe(f *testing.F) {
	f.Add(uint8(1), []byte{0x90, 0x80, 0x81})
	f.Add(uint8(3), []byte{0x18, 0x00, 0x02, 0x67})
	f.Fuzz(func(t *testing.T, c uint8, p []byte) {
		_ = isKeyframe(codecKind(c%5), p)
	})
}
