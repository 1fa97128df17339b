package e2e

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// A viewer that offers the playout-delay extension (as browsers do) gets
// it on its video: minimum 0, maximum sfu.playout_delay_max (500 ms), so
// its jitter buffer stays minimal.
func TestPlayoutDelayIsNegotiated(t *testing.T) {
	n := startNode(t, nil)
	publishSynthetic(t, n, "pd", "pd-key", 30, false)

	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	const uri = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		t.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(loopbackSE())).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	extID := make(chan uint8, 1)
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		id := <-extID
		for range 100 {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if e := p.Header.GetExtension(id); e != nil {
				got <- append([]byte(nil), e...)
				return
			}
		}
		got <- nil
	})
	answer := exchange(t, pc, n.base+"/whep/pd")
	if !strings.Contains(answer, uri) {
		t.Fatalf("WHEP answer without playout-delay:\n%s", answer)
	}
	for _, line := range strings.Split(answer, "\r\n") {
		if v, ok := strings.CutPrefix(line, "a=extmap:"); ok && strings.HasSuffix(v, " "+uri) {
			id, _ := strconv.Atoi(strings.Fields(v)[0])
			extID <- uint8(id)
		}
	}
	select {
	case ext := <-got:
		if !bytes.Equal(ext, []byte{0x00, 0x00, 0x32}) {
			t.Fatalf("playout-delay payload % x, want 00 00 32 (min 0, max 500 ms)", ext)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no video arrived")
	}
}
