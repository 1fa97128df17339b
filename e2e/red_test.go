package e2e

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// loopbackAPI is a pion API on loopback with Opus, RED and VP8.
func loopbackAPI(t *testing.T) *webrtc.API {
	t.Helper()
	m := &webrtc.MediaEngine{}
	for _, c := range []struct {
		p webrtc.RTPCodecParameters
		k webrtc.RTPCodecType
	}{
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "audio/red", ClockRate: 48000, Channels: 2, SDPFmtpLine: "111/111"}, PayloadType: 63}, webrtc.RTPCodecTypeAudio},
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111}, webrtc.RTPCodecTypeAudio},
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}, webrtc.RTPCodecTypeVideo},
	} {
		if err := m.RegisterCodec(c.p, c.k); err != nil {
			t.Fatal(err)
		}
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		t.Fatal(err)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(loopbackSE()))
}

// loopbackSE keeps a pion peer's ICE on loopback, IPv4, without mDNS.
func loopbackSE() webrtc.SettingEngine {
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return se
}

// exchange posts pc's offer to url and applies the answer, which it returns.
func exchange(t *testing.T, pc *webrtc.PeerConnection, url string) string {
	t.Helper()
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gather := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gather
	resp, err := http.Post(url, "application/sdp", bytes.NewBufferString(pc.LocalDescription().SDP))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, answer)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}); err != nil {
		t.Fatal(err)
	}
	return string(answer)
}

// A publisher offering Opus and RED is answered with RED first (the sender
// then encodes RED, as Chromium does); a viewer that takes RED gets it as it
// is, a viewer that does not gets each packet's primary block as Opus.
func TestOpusREDPassthrough(t *testing.T) {
	n := startNode(t, nil)
	api := loopbackAPI(t)
	pub, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close() })
	audio, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: "audio/red", ClockRate: 48000, Channels: 2, SDPFmtpLine: "111/111"}, "a", "s")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.AddTransceiverFromTrack(audio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	answer := exchange(t, pub, n.base+"/whip/red")
	var audioLine string
	for _, l := range strings.Split(answer, "\r\n") {
		if strings.HasPrefix(l, "m=audio") {
			audioLine = l
		}
	}
	if f := strings.Fields(audioLine); len(f) < 4 || f[3] != "63" {
		t.Fatalf("the WHIP answer does not prefer RED: %q", audioLine)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		seq, ts := uint16(0), uint32(0)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			seq, ts = seq+1, ts+960
			payload := []byte{0x80 | 111, 0x00, 0x00, 0x04, 111, 'o', 'l', 'd', '!', 'n', 'o', 'w', byte(seq)}
			_ = audio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 63, SequenceNumber: seq, Timestamp: ts}, Payload: payload})
		}
	}()

	watchAudio := func(withRED bool) <-chan *rtp.Packet {
		got := make(chan *rtp.Packet, 1)
		a := api
		if !withRED {
			m := &webrtc.MediaEngine{}
			_ = m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111}, webrtc.RTPCodecTypeAudio)
			_ = m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}, webrtc.RTPCodecTypeVideo)
			a = webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(loopbackSE()))
		}
		pc, err := a.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pc.Close() })
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
		pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			for range 50 {
				p, _, err := tr.ReadRTP()
				if err != nil {
					return
				}
				if len(p.Payload) > 0 {
					got <- p
					return
				}
			}
		})
		exchange(t, pc, n.base+"/whep/red")
		return got
	}
	for _, c := range []struct {
		red  bool
		pt   uint8
		want string
	}{{true, 63, "old!now"}, {false, 111, "now"}} {
		select {
		case p := <-watchAudio(c.red):
			if p.PayloadType != c.pt || !strings.Contains(string(p.Payload), c.want) || !c.red && strings.Contains(string(p.Payload), "old") {
				t.Fatalf("viewer (RED %v) got pt %d %q", c.red, p.PayloadType, p.Payload)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("viewer (RED %v) got no audio", c.red)
		}
	}
}
