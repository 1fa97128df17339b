package egress

import (
	"fmt"
	"strings"

	"github.com/onair-live/onair/sfu"
)

// SDP describes a tap's tracks to ffmpeg's sdp demuxer (RFC 8866): one m=
// section per track at its loopback port (RTCP on the port above, RFC 3550
// §11), with the tap's payload type, rtpmap and fmtp (RFC 6184 for H.264's
// packetization mode, which ffmpeg needs for FU-A and STAP-A).
func SDP(room string, tracks []sfu.TapTrack) string {
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=onair %s\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n", room)
	for _, t := range tracks {
		fmt.Fprintf(&b, "m=%s %d RTP/AVP %d\r\n", t.Kind, t.Addr.Port, t.PayloadType)
		rtpmap := fmt.Sprintf("%s/%d", t.Codec(), t.ClockRate)
		if t.Channels > 0 {
			rtpmap += fmt.Sprintf("/%d", t.Channels)
		}
		fmt.Fprintf(&b, "a=rtpmap:%d %s\r\n", t.PayloadType, rtpmap)
		if t.Fmtp != "" {
			fmt.Fprintf(&b, "a=fmtp:%d %s\r\n", t.PayloadType, t.Fmtp)
		}
		b.WriteString("a=recvonly\r\n")
	}
	return b.String()
}
