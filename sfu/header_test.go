package sfu

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/pion/rtp"
)

// The header and extensions a track writes come out as pion writes the same
// header with SetExtension: no extension, the one-byte form, and the
// two-byte form when an id or a payload does not fit the one-byte form.
func TestWriteHeaderMatchesPion(t *testing.T) {
	type ext struct {
		id      uint8
		payload []byte
	}
	for i, c := range []struct {
		marker, padding bool
		exts            []ext
	}{
		{},
		{marker: true, padding: true},
		{exts: []ext{{3, []byte{0, 0, 0}}}}, // playout delay
		{exts: []ext{{3, []byte{0, 0, 0}}, {5, []byte{1, 2}}}},  // and the transport-wide number
		{exts: []ext{{1, []byte{1}}, {2, []byte{2, 2}}}},        // a whole word
		{exts: []ext{{14, bytes.Repeat([]byte{9}, 16)}}},        // the one-byte form's largest
		{exts: []ext{{3, []byte{0, 0, 0}}, {20, []byte{1, 2}}}}, // an id past 14
		{exts: []ext{{7, bytes.Repeat([]byte{8}, 17)}}},         // a payload past 16 bytes
		{marker: true, exts: []ext{{200, []byte{1}}, {1, []byte{2}}}},
	} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			h := rtp.Header{Version: 2, Marker: c.marker, Padding: c.padding, PayloadType: 111, SequenceNumber: 65535, Timestamp: 0xdeadbeef, SSRC: 0x01020304}
			var e extBlock
			want := h
			for _, x := range c.exts {
				if err := e.add(x.id, x.payload); err != nil {
					t.Fatal(err)
				}
			}
			if !e.oneByte() { // pion takes the form of the first; the two-byte one is set first
				want.Extension, want.ExtensionProfile = true, rtp.ExtensionProfileTwoByte
			}
			for _, x := range c.exts {
				if err := want.SetExtension(x.id, x.payload); err != nil {
					t.Fatal(err)
				}
			}
			wantBuf := make([]byte, 100)
			n, err := want.MarshalTo(wantBuf)
			if err != nil {
				t.Fatal(err)
			}
			got := bytes.Repeat([]byte{0xaa}, 100) // the padding is written, not left
			m, err := writeHeader(got, &h, &e)
			if err != nil || !bytes.Equal(got[:m], wantBuf[:n]) {
				t.Fatalf("%x, %v\nwant %x", got[:m], err, wantBuf[:n])
			}
			// And pion's path gets the same extensions.
			viaPion := h
			e.apply(&viaPion)
			if b, _ := viaPion.Marshal(); !bytes.Equal(b, wantBuf[:n]) {
				t.Fatalf("applied: %x", b)
			}
			if _, err := writeHeader(make([]byte, m-1), &h, &e); err == nil {
				t.Fatal("written into too small a buffer")
			}
		})
	}
}

// A block refuses what it cannot hold, and a header with pion's own
// extensions or CSRCs is not written.
func TestExtBlockLimits(t *testing.T) {
	var e extBlock
	if e.add(0, []byte{1}) == nil || e.add(1, nil) == nil || e.add(1, make([]byte, maxExtBytes+1)) == nil {
		t.Fatal("a bad element was taken")
	}
	for i := range 4 {
		if err := e.add(uint8(i+1), []byte{1}); err != nil {
			t.Fatal(err)
		}
	}
	if e.add(9, []byte{1}) == nil {
		t.Fatal("a fifth element was taken")
	}
	h := rtp.Header{Version: 2, CSRC: []uint32{1}}
	if _, err := writeHeader(make([]byte, 100), &h, nil); err == nil {
		t.Fatal("a header with CSRCs was written")
	}
}
