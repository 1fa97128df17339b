package sfu

import (
	"bytes"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// The sealer's packets are pion's, byte for byte, for both AES-GCM profiles,
// with and without cryptex, with one- and two-byte header extensions, across
// a sequence number wrap and on a second SSRC (RTX); a viewer's pion context
// opens them.
func TestGCMSealerMatchesPion(t *testing.T) {
	profiles := map[srtp.ProtectionProfile]int{srtp.ProtectionProfileAeadAes128Gcm: 16, srtp.ProtectionProfileAeadAes256Gcm: 32}
	for profile, keyLen := range profiles {
		for _, cryptex := range []bool{false, true} {
			key := bytes.Repeat([]byte{0x5a}, keyLen)
			salt := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
			var opts []srtp.ContextOption
			if cryptex {
				opts = append(opts, srtp.Cryptex(srtp.CryptexModeEnabled))
			}
			ref, err := srtp.CreateContext(key, salt, profile, opts...)
			if err != nil {
				t.Fatal(err)
			}
			viewer, err := srtp.CreateContext(key, salt, profile, opts...)
			if err != nil {
				t.Fatal(err)
			}
			s, err := newGCMSealer(profile, key, salt, cryptex)
			if err != nil {
				t.Fatal(err)
			}
			seq := uint16(65530)
			for i := range 20 {
				ssrc := uint32(1111)
				if i%5 == 4 {
					ssrc = 2222 // an RTX packet now and then, its own numbering
				}
				hdr := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: uint32(i * 3000), SSRC: ssrc, Marker: i%3 == 0}
				switch i % 4 {
				case 1:
					_ = hdr.SetExtension(3, []byte{0xaa, 0xbb, 0xcc})
				case 2:
					hdr.ExtensionProfile = rtp.ExtensionProfileTwoByte
					_ = hdr.SetExtension(5, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17})
				case 3:
					_ = hdr.SetExtension(1, []byte{9})
					_ = hdr.SetExtension(2, []byte{8, 7})
				}
				payload := bytes.Repeat([]byte{byte(i)}, 100+i*37)
				plain, err := (&rtp.Packet{Header: hdr, Payload: payload}).Marshal()
				if err != nil {
					t.Fatal(err)
				}
				want, err := ref.EncryptRTP(nil, plain, nil)
				if err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, len(plain)+64)
				copy(buf, plain)
				h := hdr // seal may not depend on pion having touched it
				n, err := s.seal(buf, len(plain), hdr.MarshalSize(), &h)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(buf[:n], want) {
					t.Fatalf("profile %v cryptex %v packet %d (seq %d, ssrc %d): sealed\n% x\nwant\n% x", profile, cryptex, i, seq, ssrc, buf[:n], want)
				}
				opened, err := viewer.DecryptRTP(nil, buf[:n], nil)
				if err != nil || !bytes.Equal(opened, plain) {
					t.Fatalf("profile %v cryptex %v packet %d: the viewer opened %v", profile, cryptex, i, err)
				}
				if ssrc == 1111 {
					seq++
				}
			}
			if r := s.roc(1111); r != 1 {
				t.Errorf("profile %v cryptex %v: rollover counter %d after the wrap, want 1", profile, cryptex, r)
			}
		}
	}
}

// A packet from before the latest wrap is sealed with the counter it had.
func TestGCMSealerRolloverOfAnOlderPacket(t *testing.T) {
	s, err := newGCMSealer(srtp.ProtectionProfileAeadAes128Gcm, make([]byte, 16), make([]byte, 12), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		seq  uint16
		want uint32
	}{{65534, 0}, {65535, 0}, {2, 1}, {65533, 0}, {3, 1}, {40000, 0}, {20000, 1}, {40000, 1}, {7000, 2}} {
		if got := s.rollover(9, c.seq); got != c.want {
			t.Errorf("seq %d: rollover %d, want %d", c.seq, got, c.want)
		}
	}
	if _, err := newGCMSealer(srtp.ProtectionProfileAes128CmHmacSha1_80, make([]byte, 16), make([]byte, 14), false); err != errSealerProfile {
		t.Errorf("AES-CM: %v, want errSealerProfile", err)
	}
}
