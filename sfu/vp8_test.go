package sfu

import (
	"bytes"
	"testing"
)

// vp8Desc is a VP8 payload with a 15-bit PictureID and a TL0PICIDX (RFC 7741
// §4.2), then a frame byte.
func vp8Desc(pid uint16, tl0 uint8) []byte {
	return []byte{0x90, 0xe0, 0x80 | byte(pid>>8), byte(pid), tl0, 0x40, 0x9d}
}

func TestVP8Fields(t *testing.T) {
	for _, c := range []struct {
		name     string
		b        []byte
		pid, tl0 int
		wide, ok bool
	}{
		{"no extension", []byte{0x10, 0x9d}, -1, -1, false, true},
		{"15-bit id, tl0, tid", vp8Desc(300, 7), 2, 4, true, true},
		{"7-bit id", []byte{0x90, 0x80, 0x05, 0x9d}, 2, -1, false, true},
		{"tl0 only", []byte{0x90, 0x40, 0x09}, -1, 2, false, true},
		{"cut short", []byte{0x90, 0x80}, -1, -1, false, false},
		{"empty", nil, -1, -1, false, false},
	} {
		pid, wide, tl0, ok := vp8Fields(c.b)
		if pid != c.pid || wide != c.wide || tl0 != c.tl0 || ok != c.ok {
			t.Errorf("%s: pid %d wide %v tl0 %d ok %v", c.name, pid, wide, tl0, ok)
		}
	}
}

// Across a switch the viewer's picture ids and TL0PICIDX go on by one; the
// shared payload is left as it was.
func TestVP8RenumberedAcrossSwitch(t *testing.T) {
	var v vp8Munger
	pids := func(b []byte) (uint16, uint8) {
		pid, wide, tl0, _ := vp8Fields(b)
		return readPID(b, pid, wide), b[tl0]
	}
	for i := range 3 {
		out := v.rewrite(vp8Desc(uint16(5000+i), 10))
		if p, l := pids(out); p != uint16(5000+i) || l != 10 {
			t.Fatalf("before any switch: %d %d", p, l)
		}
	}
	in := vp8Desc(200, 77)
	orig := bytes.Clone(in)
	v.switchTo(in)
	out := v.rewrite(in)
	if p, l := pids(out); p != 5003 || l != 11 {
		t.Fatalf("first after the switch: pid %d tl0 %d, want 5003 11", p, l)
	}
	if !bytes.Equal(in, orig) {
		t.Fatal("the shared payload was changed")
	}
	out = v.rewrite(vp8Desc(201, 78))
	if p, l := pids(out); p != 5004 || l != 12 {
		t.Fatalf("next: %d %d", p, l)
	}
	// 15-bit wrap.
	v = vp8Munger{}
	v.rewrite(vp8Desc(0x7fff, 255))
	v.switchTo(vp8Desc(9, 3))
	if p, l := pids(v.rewrite(vp8Desc(9, 3))); p != 0 || l != 0 {
		t.Fatalf("wrap: %d %d", p, l)
	}
}
