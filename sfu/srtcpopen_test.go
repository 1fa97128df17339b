package sfu

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/srtp/v3"
)

// What pion's Context seals, the opener opens to the same RTCP, for both
// key sizes; a packet opened once is refused again (in order or not, within
// the replay window or older), a packet under another key is refused as
// not the viewer's, and each sender SSRC has its own window.
func TestSRTCPOpenerMatchesPion(t *testing.T) {
	for _, c := range []struct {
		profile srtp.ProtectionProfile
		keyLen  int
	}{{srtp.ProtectionProfileAeadAes128Gcm, 16}, {srtp.ProtectionProfileAeadAes256Gcm, 32}} {
		t.Run(fmt.Sprint(c.keyLen*8), func(t *testing.T) {
			key, salt := bytes.Repeat([]byte{3}, c.keyLen), bytes.Repeat([]byte{4}, 12)
			keys := srtpKeys{profile: c.profile, remoteKey: key, remoteSalt: salt}
			o, err := keys.remoteOpener()
			if err != nil || o == nil {
				t.Fatalf("opener: %v, %v", o, err)
			}
			viewer, err := srtp.CreateContext(key, salt, c.profile)
			if err != nil {
				t.Fatal(err)
			}
			seal := func(ctx *srtp.Context, p ...rtcp.Packet) (plain, sealed []byte) {
				plain, err := rtcp.Marshal(p)
				if err != nil {
					t.Fatal(err)
				}
				sealed, err = ctx.EncryptRTCP(nil, plain, nil)
				if err != nil {
					t.Fatal(err)
				}
				return plain, sealed
			}
			rr := &rtcp.ReceiverReport{SSRC: 7, Reports: []rtcp.ReceptionReport{{SSRC: 1234, FractionLost: 3, LastSequenceNumber: 99}}}
			var sealed [][]byte
			buf := make([]byte, 0, maxPacket)
			for i := range 80 {
				plain, s := seal(viewer, rr, &rtcp.PictureLossIndication{SenderSSRC: 7, MediaSSRC: uint32(i)})
				sealed = append(sealed, s)
				if i == 0 || i == 1 || i == 3 {
					continue // opened later, out of order
				}
				got, err := o.open(buf, s)
				if err != nil || !bytes.Equal(got, plain) {
					t.Fatalf("packet %d: %x, %v", i, got, err)
				}
			}
			if _, err := o.open(buf, sealed[79]); !errors.Is(err, errSRTCPReplay) {
				t.Fatalf("the latest again: %v", err)
			}
			if _, err := o.open(buf, sealed[40]); !errors.Is(err, errSRTCPReplay) {
				t.Fatalf("one in the window again: %v", err)
			}
			if _, err := o.open(buf, sealed[0]); !errors.Is(err, errSRTCPReplay) {
				t.Fatalf("one older than the window: %v", err)
			}
			// 16 and 17 were opened; within the window, one not yet seen is taken.
			if _, err := o.open(buf, sealed[17]); !errors.Is(err, errSRTCPReplay) {
				t.Fatal("17 again was taken")
			}
			other, err := srtp.CreateContext(bytes.Repeat([]byte{5}, c.keyLen), salt, c.profile)
			if err != nil {
				t.Fatal(err)
			}
			_, foreign := seal(other, rr)
			if _, err := o.open(buf, foreign); !errors.Is(err, errSRTCP) {
				t.Fatalf("under another key: %v", err)
			}
			tampered := bytes.Clone(sealed[50])
			tampered[10] ^= 1
			if _, err := o.open(buf, tampered); !errors.Is(err, errSRTCP) {
				t.Fatalf("tampered: %v", err)
			}
			// Another sender SSRC (the viewer's audio receiver, say) starts its own window.
			plain, s := seal(viewer, &rtcp.PictureLossIndication{SenderSSRC: 8, MediaSSRC: 1})
			if got, err := o.open(buf, s); err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("a second SSRC: %v", err)
			}
			// A viewer with many receivers keeps its RTCP: the window unused
			// longest makes way for a new SSRC.
			for ssrc := uint32(100); ssrc < 100+2*maxSRTCPSenders; ssrc++ {
				plain, s := seal(viewer, &rtcp.PictureLossIndication{SenderSSRC: ssrc, MediaSSRC: 1})
				if got, err := o.open(buf, s); err != nil || !bytes.Equal(got, plain) {
					t.Fatalf("SSRC %d: %v", ssrc, err)
				}
			}
			if len(o.seen) != maxSRTCPSenders {
				t.Fatalf("%d windows kept", len(o.seen))
			}
			if _, err := o.open(buf, []byte{0x80, 0xc9, 0, 1}); !errors.Is(err, errSRTCP) {
				t.Fatalf("a runt: %v", err)
			}
		})
	}
}

// Within the window a packet that arrives late is taken once.
func TestReplayWindow(t *testing.T) {
	var w replayWindow
	for _, c := range []struct {
		index uint32
		fresh bool
	}{{10, true}, {10, false}, {12, true}, {11, true}, {11, false}, {12 + srtcpReplayWindow, true}, {12, false}, {13, true}, {12 + srtcpReplayWindow - 1, true}, {200, true}, {199, true}, {199, false}} {
		if got := w.fresh(c.index); got != c.fresh {
			t.Fatalf("index %d: fresh %v, want %v", c.index, got, c.fresh)
		}
		if c.fresh {
			w.accept(c.index)
		}
	}
	// AES-CM viewers keep pion's Context.
	if o, err := newSRTCPOpener(srtp.ProtectionProfileAes128CmHmacSha1_80, make([]byte, 16), make([]byte, 14)); o != nil || err != nil {
		t.Fatalf("AES-CM: %v, %v", o, err)
	}
}
