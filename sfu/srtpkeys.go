package sfu

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/prf"
	"github.com/pion/dtls/v3/pkg/protocol/extension"
	"github.com/pion/dtls/v3/pkg/protocol/handshake"
	"github.com/pion/srtp/v3"
	"github.com/pion/webrtc/v4"
)

// The SFU's own write path (wire.go) encrypts a viewer's media itself, so it
// needs the SRTP keys pion derives from the viewer's DTLS handshake and keeps
// to itself. pion's public API hands out what they are made from: the
// handshake's master secret through a key-log writer, and the server's random,
// the cipher suite and the SRTP profile through a hook on the ServerHello the
// SFU sends (it takes the DTLS server role with viewers for this). From those
// the keys follow as RFC 5764 §4.2 says: the RFC 5705 exporter with the label
// "EXTRACTOR-dtls_srtp". Each viewer's peer has its own catcher, so whatever
// is caught belongs to that viewer's one handshake; the secret never leaves
// the process, as pion's own copy does not.

// keyCatcher collects one DTLS server handshake's key material.
type keyCatcher struct {
	mu           sync.Mutex
	clientRandom []byte
	master       []byte
	serverRandom []byte
	suite        uint16
	profile      srtp.ProtectionProfile
}

// errNoKeys: the handshake did not show the catcher all it needs (the SFU was
// not the DTLS server, or no SRTP profile was agreed).
var errNoKeys = errors.New("sfu: the DTLS handshake's SRTP keys were not caught")

// Write takes key-log lines: "CLIENT_RANDOM <client random> <master secret>".
func (k *keyCatcher) Write(b []byte) (int, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) != 3 || string(f[0]) != "CLIENT_RANDOM" {
			continue
		}
		cr, err1 := hex.DecodeString(string(f[1]))
		ms, err2 := hex.DecodeString(string(f[2]))
		if err1 != nil || err2 != nil {
			continue
		}
		k.mu.Lock()
		k.clientRandom, k.master = cr, ms
		k.mu.Unlock()
	}
	return len(b), nil
}

// serverHello reads what the SFU answers the viewer's ClientHello with; the
// message goes out unchanged.
func (k *keyCatcher) serverHello(m handshake.MessageServerHello) handshake.Message {
	r := m.Random.MarshalFixed()
	k.mu.Lock()
	defer k.mu.Unlock()
	k.serverRandom = r[:]
	if m.CipherSuiteID != nil {
		k.suite = *m.CipherSuiteID
	}
	k.profile = 0
	for _, e := range m.Extensions {
		if u, ok := e.(*extension.UseSRTP); ok && len(u.ProtectionProfiles) > 0 {
			k.profile = srtp.ProtectionProfile(u.ProtectionProfiles[0])
		}
	}
	return &m
}

// install makes se's DTLS handshakes report to k. The SFU answers as the DTLS
// server (it then sends the ServerHello k reads) and prefers AES-GCM, whose
// single pass costs less per packet than AES-CM with HMAC-SHA1.
func (k *keyCatcher) install(se *webrtc.SettingEngine) error {
	se.SetDTLSKeyLogWriter(k)
	se.SetDTLSServerHelloMessageHook(k.serverHello)
	se.SetSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AEAD_AES_256_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80)
	return se.SetAnsweringDTLSRole(webrtc.DTLSRoleServer)
}

// srtpKeys are the SFU's (the DTLS server's) SRTP write key and salt, and
// the viewer's (what the SFU reads its RTCP with).
type srtpKeys struct {
	profile               srtp.ProtectionProfile
	key, salt             []byte
	remoteKey, remoteSalt []byte
}

// keys derives the SFU's SRTP write keys from what was caught.
func (k *keyCatcher) keys() (srtpKeys, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.master == nil || k.serverRandom == nil || k.profile == 0 {
		return srtpKeys{}, errNoKeys
	}
	cfg := srtp.Config{Profile: k.profile}
	ex := exporter{master: k.master, clientRandom: k.clientRandom, serverRandom: k.serverRandom, hash: suiteHash(k.suite)}
	err := cfg.ExtractSessionKeysFromDTLS(ex, false)
	clear(k.master) // what is derived is all that is needed
	k.master = nil
	if err != nil {
		return srtpKeys{}, fmt.Errorf("sfu: SRTP keys: %w", err)
	}
	return srtpKeys{profile: k.profile, key: cfg.Keys.LocalMasterKey, salt: cfg.Keys.LocalMasterSalt,
		remoteKey: cfg.Keys.RemoteMasterKey, remoteSalt: cfg.Keys.RemoteMasterSalt}, nil
}

// context makes an SRTP context that encrypts with the keys, header
// extensions too with cryptex (RFC 9335).
func (s srtpKeys) context(cryptex bool) (*srtp.Context, error) {
	if cryptex {
		return srtp.CreateContext(s.key, s.salt, s.profile, srtp.Cryptex(srtp.CryptexModeEnabled))
	}
	return srtp.CreateContext(s.key, s.salt, s.profile)
}

// sealer makes the wire's own RTP sealer for an AES-GCM profile; nil for
// AES-CM, which pion's context seals.
func (s srtpKeys) sealer(cryptex bool) (*gcmSealer, error) {
	g, err := newGCMSealer(s.profile, s.key, s.salt, cryptex)
	if errors.Is(err, errSealerProfile) {
		return nil, nil
	}
	return g, err
}

// remoteContext makes an SRTP context that opens the viewer's RTCP,
// refusing replays as pion's session does.
func (s srtpKeys) remoteContext() (*srtp.Context, error) {
	return srtp.CreateContext(s.remoteKey, s.remoteSalt, s.profile, srtp.SRTCPReplayProtection(srtcpReplayWindow))
}

// remoteOpener makes the wire's own opener of the viewer's SRTCP for an
// AES-GCM profile; nil for AES-CM, which remoteContext opens.
func (s srtpKeys) remoteOpener() (*srtcpOpener, error) {
	return newSRTCPOpener(s.profile, s.remoteKey, s.remoteSalt)
}

// srtcpReplayWindow is pion's default for sessions.
const srtcpReplayWindow = 64

// exporter is RFC 5705's keying material exporter over a TLS 1.2 PRF.
type exporter struct {
	master, clientRandom, serverRandom []byte
	hash                               prf.HashFunc
}

func (e exporter) ExportKeyingMaterial(label string, context []byte, length int) ([]byte, error) {
	if len(context) != 0 {
		return nil, errors.New("sfu: keying material with a context is not used by DTLS-SRTP")
	}
	seed := append(append([]byte(label), e.clientRandom...), e.serverRandom...)
	return prf.PHash(e.master, seed, length, e.hash)
}

// suiteHash is the PRF hash of a TLS 1.2 cipher suite: SHA-384 for the
// suites that name it, SHA-256 for every other suite pion offers.
func suiteHash(id uint16) prf.HashFunc {
	switch dtls.CipherSuiteID(id) {
	case dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, dtls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:
		return sha512.New384
	}
	return sha256.New
}
