package sfu

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// gcmSealer seals a viewer's RTP with AEAD_AES_128_GCM or AEAD_AES_256_GCM
// (RFC 7714), its header extensions too with cryptex (RFC 9335), in place in
// the wire's ring. pion's Context does the same, but per packet it parses the
// header the wire has just written, looks the SSRC's state up under a lock,
// and with cryptex copies the header about: half its cost at 100 viewers,
// the other half being AES-GCM. Sender reports and reading packets back
// stay with pion's Context.
type gcmSealer struct {
	aead    cipher.AEAD
	tagLen  int // aead.Overhead(), asked once
	salt    [12]byte
	cryptex bool
	rocs    []rocState // per SSRC: the track's and its RTX stream's
	iv      [12]byte   // here, not on the stack: passed to an interface, it would escape each time
}

// rocState counts how often an SSRC's sequence numbers wrapped (the SRTP
// rollover counter, RFC 3711 §3.3.1).
type rocState struct {
	ssrc uint32
	last uint16 // the highest sequence number sealed
	roc  uint32
}

var errSealerProfile = errors.New("sfu: the SRTP profile is not AES-GCM")

// newGCMSealer derives the session key and salt from the master key and
// salt (RFC 3711 §4.3 with the AES-CM PRF, as RFC 7714 §11 says).
func newGCMSealer(profile srtp.ProtectionProfile, masterKey, masterSalt []byte, cryptex bool) (*gcmSealer, error) {
	aead, salt, err := sessionAEAD(profile, masterKey, masterSalt, 0x00, 0x02)
	if err != nil {
		return nil, err
	}
	return &gcmSealer{aead: aead, tagLen: aead.Overhead(), salt: salt, cryptex: cryptex}, nil
}

// sessionAEAD is the AES-GCM of the session key and salt derived with the
// labels given (RFC 3711 §4.3.1: 0 and 2 for SRTP, 3 and 5 for SRTCP).
func sessionAEAD(profile srtp.ProtectionProfile, masterKey, masterSalt []byte, keyLabel, saltLabel byte) (cipher.AEAD, [12]byte, error) {
	var salt [12]byte
	if profile != srtp.ProtectionProfileAeadAes128Gcm && profile != srtp.ProtectionProfileAeadAes256Gcm {
		return nil, salt, errSealerProfile
	}
	if len(masterSalt) != 12 {
		return nil, salt, errors.New("sfu: an AES-GCM master salt is 12 bytes")
	}
	key, err := deriveSessionKey(keyLabel, masterKey, masterSalt, len(masterKey))
	if err != nil {
		return nil, salt, err
	}
	s, err := deriveSessionKey(saltLabel, masterKey, masterSalt, len(masterSalt))
	if err != nil {
		return nil, salt, err
	}
	copy(salt[:], s)
	block, err := aes.NewCipher(key)
	clear(key)
	if err != nil {
		return nil, salt, err
	}
	aead, err := cipher.NewGCM(block)
	return aead, salt, err
}

// deriveSessionKey is the AES-CM key derivation (RFC 3711 §4.3.3, key
// derivation rate 0): AES in counter mode under the master key, from the
// master salt with the label at byte 7.
func deriveSessionKey(label byte, masterKey, masterSalt []byte, n int) ([]byte, error) {
	block, err := aes.NewCipher(masterKey)
	if err != nil {
		return nil, err
	}
	var in [16]byte
	copy(in[:], masterSalt)
	in[7] ^= label
	out := make([]byte, (n+15)/16*16)
	for i := 0; i*16 < n; i++ {
		binary.BigEndian.PutUint16(in[14:], uint16(i))
		block.Encrypt(out[i*16:], in[:])
	}
	return out[:n], nil
}

// seal encrypts the packet in buf[:n], whose header (hdr) takes its first
// hdrLen bytes, in place; buf must have room for the tag after n. It returns
// the sealed size.
func (s *gcmSealer) seal(buf []byte, n, hdrLen int, hdr *rtp.Header) (int, error) {
	if n+s.tagLen > len(buf) {
		return 0, errSealGrew
	}
	roc := s.rollover(hdr.SSRC, hdr.SequenceNumber)
	iv := &s.iv
	iv[0], iv[1] = 0, 0
	binary.BigEndian.PutUint32(iv[2:], hdr.SSRC)
	binary.BigEndian.PutUint32(iv[6:], roc)
	binary.BigEndian.PutUint16(iv[10:], hdr.SequenceNumber)
	for i := range iv {
		iv[i] ^= s.salt[i]
	}
	// What the header holds is read from what was written.
	if s.cryptex && buf[0]&0x0f != 0 {
		return 0, errors.New("sfu: cryptex with CSRCs is not sealed here") // the SFU sends none
	}
	clearLen := hdrLen
	if s.cryptex && buf[0]&0x10 != 0 {
		// The extension block's first 4 bytes stay in the clear, with the
		// profile marked encrypted; the extensions are sealed with the payload.
		switch binary.BigEndian.Uint16(buf[12:]) {
		case rtp.ExtensionProfileOneByte:
			binary.BigEndian.PutUint16(buf[12:], rtp.CryptexProfileOneByte)
		case rtp.ExtensionProfileTwoByte:
			binary.BigEndian.PutUint16(buf[12:], rtp.CryptexProfileTwoByte)
		default:
			return 0, errors.New("sfu: cryptex takes RFC 8285 header extensions only")
		}
		clearLen = 12 + 4
	}
	out := s.aead.Seal(buf[clearLen:clearLen], iv[:], buf[clearLen:n], buf[:clearLen])
	return clearLen + len(out), nil
}

// rollover returns the rollover counter of seq in ssrc's stream, counting a
// wrap when seq is the first after one (a packet from before the latest wrap
// keeps the counter it had).
func (s *gcmSealer) rollover(ssrc uint32, seq uint16) uint32 {
	for i := range s.rocs {
		r := &s.rocs[i]
		if r.ssrc != ssrc {
			continue
		}
		d := int16(seq - r.last)
		switch {
		case d > 0 && seq < r.last:
			r.roc++
			r.last = seq
		case d > 0:
			r.last = seq
		case d < 0 && seq > r.last && r.roc > 0:
			return r.roc - 1
		}
		return r.roc
	}
	s.rocs = append(s.rocs, rocState{ssrc: ssrc, last: seq})
	return 0
}

// roc is ssrc's rollover counter now.
func (s *gcmSealer) roc(ssrc uint32) uint32 {
	for _, r := range s.rocs {
		if r.ssrc == ssrc {
			return r.roc
		}
	}
	return 0
}
