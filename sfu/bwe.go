package sfu

import (
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// bweConfig sets up a viewer peer's bandwidth estimation: transport-wide
// sequence numbers on what it is sent, which the SFU writes itself (the
// viewer answers with transport-cc feedback), read by the viewer's
// pathEstimator (pathest.go). No pacer: the SFU forwards as packets arrive,
// and its allocator, not a pacer, keeps a viewer within the estimate by
// choosing layers.
type bweConfig struct {
	start, min, max int // bits/s
}

func (b *bweConfig) register(m *webrtc.MediaEngine) error {
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, k); err != nil {
			return err
		}
		m.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC}, k)
	}
	// A player without transport-cc may send its own estimate (rtcpfallback.go).
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBGoogREMB}, webrtc.RTPCodecTypeVideo)
	return nil
}
