package sfu

import (
	"fmt"
	"strings"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

var videoFeedback = []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}}

type codecEntry struct {
	params webrtc.RTPCodecParameters
	rtxPT  webrtc.PayloadType // 0: no RTX
}

func videoCodec(mime, fmtp string, pt, rtx webrtc.PayloadType) codecEntry {
	return codecEntry{params: webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mime, ClockRate: 90000, SDPFmtpLine: fmtp, RTCPFeedback: videoFeedback},
		PayloadType:        pt,
	}, rtxPT: rtx}
}

// videoCodecs are the video codecs onair forwards, with Chromium's usual payload types.
var videoCodecs = []codecEntry{
	videoCodec(webrtc.MimeTypeVP8, "", 96, 97),
	videoCodec(webrtc.MimeTypeH264, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", 106, 107),
	videoCodec(webrtc.MimeTypeH264, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f", 102, 103),
	videoCodec(webrtc.MimeTypeH264, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f", 127, 125),
	videoCodec(webrtc.MimeTypeH264, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f", 112, 113),
	videoCodec(webrtc.MimeTypeVP9, "profile-id=0", 98, 99),
	videoCodec(webrtc.MimeTypeVP9, "profile-id=2", 100, 101),
	videoCodec(webrtc.MimeTypeAV1, "", 45, 46),
}

var opusCodec = webrtc.RTPCodecParameters{
	RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
	PayloadType:        111,
}

// videoMimes lists the forwardable video codecs, lower-case, without repeats.
func videoMimes() []string {
	var out []string
	for _, c := range videoCodecs {
		m := strings.ToLower(c.params.MimeType)
		if len(out) == 0 || out[len(out)-1] != m {
			out = append(out, m)
		}
	}
	return out
}

// capability returns the capability of a video mime type: the table entry with
// this fmtp, or the first entry of the mime type when fmtp is empty.
func capability(mime string, fmtp ...string) (webrtc.RTPCodecCapability, bool) {
	want := ""
	if len(fmtp) > 0 {
		want = fmtp[0]
	}
	for _, c := range videoCodecs {
		if strings.EqualFold(c.params.MimeType, mime) && (want == "" || c.params.SDPFmtpLine == want) {
			return c.params.RTPCodecCapability, true
		}
	}
	if strings.EqualFold(mime, webrtc.MimeTypeOpus) {
		return opusCodec.RTPCodecCapability, true
	}
	return webrtc.RTPCodecCapability{}, false
}

// newAPI builds a pion API whose media engine knows only the given video codec
// (plus Opus), so the peer can negotiate nothing the room cannot forward; with an
// fmtp, only that variant (one H.264 profile), so a publisher sends exactly what
// the room's viewers were told to expect.
//
// With onEstimator (a viewer's peer) outgoing packets carry transport-wide
// sequence numbers (the viewer answers with TWCC feedback) and a send-side
// GCC estimates the viewer's path; it is handed over when the peer is made.
func newAPI(se webrtc.SettingEngine, videoMime, videoFmtp string, bwe *bweConfig) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	for _, c := range []webrtc.RTPCodecParameters{opusCodec, redCodec} {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, err
		}
	}
	for _, c := range videoCodecs {
		if videoMime != "" && !strings.EqualFold(c.params.MimeType, videoMime) ||
			videoFmtp != "" && c.params.SDPFmtpLine != videoFmtp {
			continue
		}
		if err := m.RegisterCodec(c.params, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, err
		}
		if c.rtxPT != 0 {
			rtx := webrtc.RTPCodecParameters{
				RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: fmt.Sprintf("apt=%d", c.params.PayloadType)},
				PayloadType:        c.rtxPT,
			}
			if err := m.RegisterCodec(rtx, webrtc.RTPCodecTypeVideo); err != nil {
				return nil, err
			}
		}
	}
	reg := &interceptor.Registry{}
	if bwe != nil {
		if err := registerViewerInterceptors(m, reg, bwe); err != nil {
			return nil, err
		}
	} else if err := registerPublisherInterceptors(m, reg); err != nil {
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), nil
}
