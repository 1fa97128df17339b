package sfu

import (
	"strings"

	"github.com/pion/webrtc/v4"
)

// Opus with redundancy (RED, RFC 2198).
//
// Chromium can send each Opus frame together with the one or two before it
// (audio/red), so a lost packet's audio arrives in the next one. A publisher
// that offers RED is asked for it (the answer prefers it), and the SFU
// forwards it as it is to viewers that take RED; to the others (and to the
// egress) it sends each packet's primary block alone, as plain Opus: the
// redundancy costs them nothing and the stream stays one.

const mimeRED = "audio/red"

// redCodec is RED carrying Opus (payload type 111) in both its blocks.
var redCodec = webrtc.RTPCodecParameters{
	RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mimeRED, ClockRate: 48000, Channels: 2, SDPFmtpLine: "111/111"},
	PayloadType:        63,
}

func isRED(mime string) bool { return strings.EqualFold(mime, mimeRED) }

// redPrimary returns the primary (last) block of a RED payload: the block
// headers (4 bytes each while their F bit is set, then 1), the redundant
// blocks, then the primary; false for a payload its headers do not fit.
func redPrimary(b []byte) ([]byte, bool) {
	i, redundant := 0, 0
	for {
		if i >= len(b) {
			return nil, false
		}
		if b[i]&0x80 == 0 { // F = 0: the primary's one-byte header
			i++
			break
		}
		if i+4 > len(b) {
			return nil, false
		}
		redundant += int(b[i+2]&0x03)<<8 | int(b[i+3])
		i += 4
	}
	if i+redundant > len(b) {
		return nil, false
	}
	return b[i+redundant:], true
}

// preferRED has a publisher's audio answered with RED first, when its offer
// has RED: the sender encodes what the answer lists first.
func preferRED(pc *webrtc.PeerConnection, info offerInfo) error {
	if !offers(info.audio, mimeRED) {
		return nil
	}
	for _, tr := range pc.GetTransceivers() {
		if tr.Kind() == webrtc.RTPCodecTypeAudio {
			if err := tr.SetCodecPreferences([]webrtc.RTPCodecParameters{redCodec, opusCodec}); err != nil {
				return err
			}
		}
	}
	return nil
}
