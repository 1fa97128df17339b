package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
)

// FuzzOffer throws offers at WHIP and WHEP: every answer is a 201 or a 4xx problem,
// never a panic or a 5xx, and no peer connection or room outlives its request.
func FuzzOffer(f *testing.F) {
	f.Add(makeOffer(f, webrtc.RTPTransceiverDirectionSendonly), true)
	f.Add(makeOffer(f, webrtc.RTPTransceiverDirectionRecvonly), false)
	f.Add("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\na=sendonly\r\n", true)
	f.Add("v=0\r\nm=audio 0 RTP/AVP 0\r\n", true)
	f.Add("", false)
	f.Add("\x00\xff", true)
	n := startNode(f, nil)
	f.Fuzz(func(t *testing.T, offer string, publish bool) {
		path := "/whep/fuzz"
		if publish {
			path = "/whip/fuzz"
		}
		status, hdr, body := do(t, "POST", n.base+path, "application/sdp", offer, "Authorization", "Bearer fuzz-key")
		switch {
		case status == http.StatusCreated:
			if s, _, b := do(t, "DELETE", n.base+hdr.Get("Location"), "", ""); s != http.StatusOK {
				t.Fatalf("DELETE after 201: %d %s", s, b)
			}
		case status >= 400 && status < 500:
			if !strings.HasPrefix(hdr.Get("Content-Type"), "application/problem+json") {
				t.Fatalf("%d without problem+json: %q", status, body)
			}
		default:
			t.Fatalf("status %d for offer %q: %s", status, offer, body)
		}
		if st := n.app.SFU().Stats(); st.Publishers != 0 || st.Subscribers != 0 {
			t.Fatalf("sessions left behind: %+v", st)
		}
	})
}
