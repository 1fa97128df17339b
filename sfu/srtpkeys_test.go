package sfu

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// dtlsHandshake runs a real DTLS handshake over loopback UDP, the server side
// reporting to k, with the given cipher suites and SRTP profiles offered by
// the client; it returns the client's view of the connection.
func dtlsHandshake(t *testing.T, k *keyCatcher, suites []dtls.CipherSuiteID, profiles []dtls.SRTPProtectionProfile) dtls.State {
	t.Helper()
	cert, err := selfsign.GenerateSelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	sc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	cc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	server, err := dtls.Server(sc, cc.LocalAddr(), &dtls.Config{
		Certificates: []tls.Certificate{cert}, CipherSuites: suites, SRTPProtectionProfiles: profiles,
		KeyLogWriter: k, ServerHelloMessageHook: k.serverHello, ExtendedMasterSecret: dtls.RequireExtendedMasterSecret,
	})
	if err != nil {
		t.Fatal(err)
	}
	client, err := dtls.Client(cc, sc.LocalAddr(), &dtls.Config{
		Certificates: []tls.Certificate{cert}, CipherSuites: suites, SRTPProtectionProfiles: profiles,
		InsecureSkipVerify: true, ExtendedMasterSecret: dtls.RequireExtendedMasterSecret,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close(); _ = server.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- server.HandshakeContext(ctx) }()
	if err := client.HandshakeContext(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st, ok := client.ConnectionState()
	if !ok {
		t.Fatal("no client state")
	}
	return st
}

// The keys the catcher derives are the ones the DTLS client derives for the
// server's direction: a packet the SFU seals opens at the viewer.
func TestKeyCatcherMatchesTheClient(t *testing.T) {
	cases := []struct {
		name    string
		suite   dtls.CipherSuiteID
		profile dtls.SRTPProtectionProfile
	}{
		{"AES-128-GCM over ECDHE-ECDSA-AES128-GCM-SHA256", dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, dtls.SRTP_AEAD_AES_128_GCM},
		{"AES-CM-HMAC over ECDHE-ECDSA-AES256-GCM-SHA384", dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, dtls.SRTP_AES128_CM_HMAC_SHA1_80},
		{"AES-256-GCM over ECDHE-ECDSA-AES256-CBC-SHA", dtls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, dtls.SRTP_AEAD_AES_256_GCM},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := &keyCatcher{}
			st := dtlsHandshake(t, k, []dtls.CipherSuiteID{c.suite}, []dtls.SRTPProtectionProfile{c.profile})
			keys, err := k.keys()
			if err != nil {
				t.Fatal(err)
			}
			if keys.profile != srtp.ProtectionProfile(c.profile) {
				t.Fatalf("profile %v, want %v", keys.profile, c.profile)
			}
			viewer := srtp.Config{Profile: keys.profile}
			if err := viewer.ExtractSessionKeysFromDTLS(&st, true); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(viewer.Keys.RemoteMasterKey, keys.key) || !bytes.Equal(viewer.Keys.RemoteMasterSalt, keys.salt) {
				t.Fatal("the derived write key is not the one the client reads with")
			}
			seal, err := keys.context(false)
			if err != nil {
				t.Fatal(err)
			}
			open, err := srtp.CreateContext(viewer.Keys.RemoteMasterKey, viewer.Keys.RemoteMasterSalt, keys.profile)
			if err != nil {
				t.Fatal(err)
			}
			hdr := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: 7, Timestamp: 9000, SSRC: 42}
			plain, _ := (&rtp.Packet{Header: hdr, Payload: []byte("a frame")}).Marshal()
			sealed, err := seal.EncryptRTP(nil, plain, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := open.DecryptRTP(nil, sealed, nil)
			if err != nil {
				t.Fatalf("the viewer cannot open the SFU's packet: %v", err)
			}
			if !bytes.Equal(got, plain) {
				t.Fatal("opened packet differs")
			}
		})
	}
}

// Without the handshake's secret there are no keys, rather than wrong ones.
func TestKeyCatcherWithoutHandshake(t *testing.T) {
	k := &keyCatcher{}
	if _, err := k.keys(); err == nil {
		t.Fatal("keys without a handshake")
	}
	_, _ = k.Write([]byte("CLIENT_RANDOM zz 00\nnonsense\n"))
	if _, err := k.keys(); err == nil {
		t.Fatal("keys from a malformed key log")
	}
}
