package e2e

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	client "github.com/onair-live/onair/clients/go"
	"github.com/onair-live/onair/cmd/onair/app"
)

// encode makes a 2 s clip with ffmpeg's encoder for the codec.
func encode(t *testing.T, name string, args ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	full := append([]string{"-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "2"}, args...)
	if b, err := exec.Command("ffmpeg", append(full, out)...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, b)
	}
	return out
}

// Every video codec the SFU forwards reaches a viewer intact, starting at a
// keyframe, with no sequence gaps.
func TestVideoCodecs(t *testing.T) {
	n := startNode(t, nil)
	cases := []struct {
		name string
		mime string
		open func(t *testing.T) (client.Source, error)
	}{
		{"H264", webrtc.MimeTypeH264, func(t *testing.T) (client.Source, error) {
			f := encode(t, "v.h264", "-c:v", "libx264", "-profile:v", "baseline", "-tune", "zerolatency", "-g", "30", "-bsf:v", "h264_mp4toannexb", "-f", "h264")
			return client.OpenH264(f, 30)
		}},
		{"VP9", webrtc.MimeTypeVP9, func(t *testing.T) (client.Source, error) {
			return client.OpenIVF(encode(t, "v9.ivf", "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-g", "30", "-b:v", "500k"))
		}},
		{"AV1", webrtc.MimeTypeAV1, func(t *testing.T) (client.Source, error) {
			return client.OpenIVF(encode(t, "av1.ivf", "-c:v", "libaom-av1", "-usage", "realtime", "-cpu-used", "8", "-g", "30", "-b:v", "300k"))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src, err := c.open(t)
			if err != nil {
				t.Fatal(err)
			}
			room := strings.ToLower(c.name)
			p, err := client.Publish(testContext(t, 20*time.Second), n.opts(room, "k-"+room+"-codec"), src, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Close() })
			v := watch(t, n, room, "", 1)
			eventually(t, 15*time.Second, "two keyframes of "+c.name, func() bool {
				tr, ok := track(v, room, "video", 0)
				return ok && tr.Keyframes >= 2
			})
			tr, _ := track(v, room, "video", 0)
			if !strings.EqualFold(tr.Codec, c.mime) || tr.Missing != 0 || tr.Frames < 30 {
				t.Fatalf("%s at the viewer: %+v", c.name, tr)
			}
		})
	}
}

// A player that offers none of the room's codecs, a publisher with no codec the
// SFU forwards, and a co-host over the stage cap are refused with a clear reason.
func TestNegotiationRefusals(t *testing.T) {
	n := startNode(t, func(c *app.Config) { c.SFU.MaxPublishers = 1 })
	publishSynthetic(t, n, "vp8room", "k-first-1", 30, true)
	h265Only := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 116\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n" +
		"a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n" +
		"a=setup:actpass\r\na=rtcp-mux\r\na=rtpmap:116 H265/90000\r\n"
	status, hdr, body := do(t, "POST", n.base+"/whip/newroom", "application/sdp", h265Only+"a=sendonly\r\n", "Authorization", "Bearer k-h265-1")
	wantProblem(t, "publisher without a forwardable codec", status, hdr, body, 406, "VP8, VP9, H.264 or AV1")
	status, hdr, body = do(t, "POST", n.base+"/whep/vp8room", "application/sdp", h265Only+"a=recvonly\r\n")
	wantProblem(t, "player without the room's codec", status, hdr, body, 406, "VP8")

	// A room that went live with audio only is a VP8 room: an H.264 republish
	// into the same slot is refused, never forwarded under the wrong codec.
	audioOnly, err := client.Publish(testContext(t, 10*time.Second), n.opts("audioonly", "k-audio-1"), nil, client.NewSyntheticOpus())
	if err != nil {
		t.Fatalf("audio-only publish: %v", err)
	}
	t.Cleanup(func() { _ = audioOnly.Close() })
	h264, err := client.OpenH264(encode(t, "r.h264", "-c:v", "libx264", "-profile:v", "baseline", "-g", "30", "-bsf:v", "h264_mp4toannexb", "-f", "h264"), 30)
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.Publish(testContext(t, 10*time.Second), n.opts("audioonly", "k-audio-1"), h264, nil)
	var he *client.HTTPError
	if !errors.As(err, &he) || he.Status != 406 || !strings.Contains(he.Detail, "VP8") {
		t.Fatalf("H.264 republish into a VP8 room: %v", err)
	}

	offer := makeOffer(t, webrtc.RTPTransceiverDirectionSendonly)
	status, hdr, body = do(t, "POST", n.base+"/whip/vp8room", "application/sdp", offer, "Authorization", "Bearer k-second-1")
	wantProblem(t, "co-host over the cap", status, hdr, body, 409, "co-hosts are live")
	if st := n.app.SFU().Stats(); st.Publishers != 2 || st.Rooms != 2 {
		t.Fatalf("refusals left state behind: %+v", st)
	}
}
