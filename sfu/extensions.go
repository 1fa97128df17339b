package sfu

import (
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// RTP header extensions the SFU speaks besides pion's defaults.
//
// Viewers' video carries playout-delay
// (http://www.webrtc.org/experiments/rtp-hdrext/playout-delay): minimum 0,
// maximum Config.PlayoutDelayMax, so a browser keeps its jitter buffer as
// small as the network lets it, never growing it past the maximum. The
// publishers' audio carries the client-to-mixer audio level (RFC 6464),
// which the SFU reads to say who of the co-hosts is speaking (speaker.go).

const playoutDelayURI = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"

// playoutDelay is the extension's payload: 12 bits of minimum and 12 of
// maximum delay, in units of 10 ms.
func playoutDelay(min, max time.Duration) [3]byte {
	lo, hi := uint16(min/(10*time.Millisecond)), uint16(max/(10*time.Millisecond))
	lo, hi = lo&0xfff, hi&0xfff
	return [3]byte{byte(lo >> 4), byte(lo<<4) | byte(hi>>8), byte(hi)}
}

// registerViewerExtensions offers playout-delay on a viewer's video.
func registerViewerExtensions(m *webrtc.MediaEngine) error {
	return m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: playoutDelayURI}, webrtc.RTPCodecTypeVideo)
}

// registerPublisherExtensions takes the audio level of a publisher's audio.
func registerPublisherExtensions(m *webrtc.MediaEngine) error {
	return m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio)
}

// extensionID is the id negotiated for uri among exts, 0 when none was.
func extensionID(exts []webrtc.RTPHeaderExtensionParameter, uri string) uint8 {
	for _, e := range exts {
		if e.URI == uri {
			return uint8(e.ID)
		}
	}
	return 0
}
