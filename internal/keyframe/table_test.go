package keyframe

import "testing"

func TestIsKeyframeTable(t *testing.T) {
	cases := []struct {
		name string
		mime string
		p    []byte
		want bool
	}{
		{"vp8 key no ext", "video/VP8", []byte{0x10, 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a}, true},
		{"vp8 inter", "video/VP8", []byte{0x10, 0x31, 0x42, 0x00, 0xaa, 0xbb, 0xcc}, false},
		{"vp8 key 15-bit picture id", "video/VP8", []byte{0x90, 0x80, 0x81, 0x02, 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a}, true},
		{"vp8 inter 15-bit picture id", "video/VP8", []byte{0x90, 0x80, 0x81, 0x02, 0x11}, false},
		{"vp8 key with tl0 and tid", "video/VP8", []byte{0x90, 0xe0, 0x05, 0x01, 0x20, 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a}, true},
		{"vp8 key tag but no start code", "video/VP8", []byte{0x10, 0x50, 0x42, 0x00, 0x11, 0x22, 0x33}, false},
		{"vp8 continuation", "video/VP8", []byte{0x00, 0x00}, false},
		{"vp8 second partition", "video/VP8", []byte{0x11, 0x00}, false},
		{"vp8 truncated", "video/VP8", []byte{0x90}, false},
		{"vp8 empty", "video/VP8", nil, false},
		{"h264 idr", "video/H264", []byte{0x65, 0x88}, true},
		{"h264 sps", "video/H264", []byte{0x67, 0x42}, true},
		{"h264 non-idr", "video/H264", []byte{0x41, 0x9a}, false},
		{"h264 stap-a sps", "video/H264", []byte{0x18, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce}, true},
		{"h264 stap-a sei only", "video/H264", []byte{0x18, 0x00, 0x02, 0x06, 0x05}, false},
		{"h264 stap-a bad size", "video/H264", []byte{0x18, 0x00, 0x09, 0x67}, false},
		{"h264 fu-a idr start", "video/H264", []byte{0x7c, 0x85, 0x00}, true},
		{"h264 fu-a idr middle", "video/H264", []byte{0x7c, 0x05, 0x00}, false},
		{"h264 fu-a non-idr start", "video/H264", []byte{0x7c, 0x81, 0x00}, false},
		{"vp9 key", "video/VP9", []byte{0x08 | 0x04}, true},
		{"vp9 inter", "video/VP9", []byte{0x48}, false},
		{"vp9 key upper spatial layer", "video/VP9", []byte{0x28, 0x02}, false},
		{"vp9 key base layer with picture id", "video/VP9", []byte{0xa8, 0x81, 0x00, 0x00}, true},
		{"av1 new sequence", "video/AV1", []byte{0x08}, true},
		{"av1 continuation", "video/AV1", []byte{0x80}, false},
		{"opus always", "audio/opus", []byte{0xfc}, true},
	}
	for _, c := range cases {
		if got := Is(c.mime, c.p); got != c.want {
			t.Errorf("%s: isKeyframe(% x) = %v, want %v", c.name, c.p, got, c.want)
		}
	}
}

func FuzzIsKeyframe(f *testing.F) {
	mimes := []string{"video/VP8", "video/VP9", "video/H264", "video/AV1", "audio/opus"}
	f.Add(uint8(0), []byte{0x90, 0x80, 0x81})
	f.Add(uint8(2), []byte{0x18, 0x00, 0x02, 0x67})
	f.Fuzz(func(t *testing.T, c uint8, p []byte) {
		_ = Is(mimes[int(c)%len(mimes)], p)
	})
}

func TestIsDoesNotAllocate(t *testing.T) {
	p := []byte{0x10, 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a}
	if n := testing.AllocsPerRun(100, func() { _ = Is("video/VP8", p) }); n != 0 {
		t.Fatalf("Is allocates %v times per call", n)
	}
}
