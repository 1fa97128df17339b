package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/onair-live/onair/cmd/onair/app"
)

// makeOffer returns a real offer with one video and one audio m-line.
func makeOffer(t testing.TB, dir webrtc.RTPTransceiverDirection) string {
	t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: dir}); err != nil {
			t.Fatal(err)
		}
	}
	o, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return o.SDP
}

type problemBody struct {
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

func wantProblem(t *testing.T, name string, status int, hdr map[string][]string, body string, wantStatus int, detailHas string) {
	t.Helper()
	if status != wantStatus {
		t.Errorf("%s: status %d, want %d (%s)", name, status, wantStatus, body)
		return
	}
	if ct := strings.Join(hdr["Content-Type"], ""); ct != "application/problem+json" {
		t.Errorf("%s: content type %q", name, ct)
	}
	var p problemBody
	if err := json.Unmarshal([]byte(body), &p); err != nil || p.Status != wantStatus || p.Title == "" || p.Detail == "" {
		t.Errorf("%s: problem body %q (%v)", name, body, err)
	}
	if !strings.Contains(strings.ToLower(p.Detail), strings.ToLower(detailHas)) {
		t.Errorf("%s: detail %q does not mention %q", name, p.Detail, detailHas)
	}
}

// Each kind of bad request gets a clear problem+json 4xx while a live session on
// the same node keeps playing.
func TestBadInputIsRefusedClearly(t *testing.T) {
	n := startNode(t, func(c *app.Config) {
		c.Dev = false
		c.StreamKeys = map[string]string{"alice": "alice-secret-key"}
	})
	publishSynthetic(t, n, "live", "alice-secret-key", 30, true)
	v := watch(t, n, "live", "", 1)
	eventually(t, 15*time.Second, "the bystander's video", func() bool {
		tr, ok := track(v, "live", "video", 0)
		return ok && tr.Keyframes > 0
	})
	before, _ := track(v, "live", "video", 0)

	offer := makeOffer(t, webrtc.RTPTransceiverDirectionSendonly)
	viewOffer := makeOffer(t, webrtc.RTPTransceiverDirectionRecvonly)
	auth := []string{"Authorization", "Bearer alice-secret-key"}
	cases := []struct {
		name, method, path, ctype, body string
		hdr                             []string
		status                          int
		detail                          string
	}{
		{"malformed SDP", "POST", "/whip/other", "application/sdp", "this is not sdp", auth, 400, "offer"},
		{"SDP without media", "POST", "/whip/other", "application/sdp", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", auth, 400, "no audio, video"},
		{"recvonly offer to WHIP", "POST", "/whip/other", "application/sdp", viewOffer, auth, 400, "recvonly"},
		{"wrong content type", "POST", "/whip/other", "text/plain", offer, auth, 415, "application/sdp"},
		{"no content type", "POST", "/whep/live", "", viewOffer, nil, 415, "application/sdp"},
		{"body over 64 KiB", "POST", "/whip/other", "application/sdp", offer + strings.Repeat("a=x\r\n", 14000), auth, 413, "64 KiB"},
		{"bad room name", "POST", "/whip/No%20Spaces", "application/sdp", offer, auth, 400, "room name"},
		{"bad room name on WHEP", "POST", "/whep/UPPER", "application/sdp", viewOffer, nil, 400, "room name"},
		{"no stream key", "POST", "/whip/other", "application/sdp", offer, nil, 401, "stream key"},
		{"wrong stream key", "POST", "/whip/other", "application/sdp", offer, []string{"Authorization", "Bearer nope-nope-nope"}, 403, "not valid"},
		{"DELETE unknown session", "DELETE", "/whip/live/0123456789abcdef", "", "", nil, 404, "session"},
		{"PATCH unknown session", "PATCH", "/whep/live/0123456789abcdef", "application/trickle-ice-sdpfrag", "a=ice-ufrag:x\r\na=ice-pwd:y\r\n", nil, 404, "session"},
		{"WHEP to a room with nothing live", "POST", "/whep/empty", "application/sdp", viewOffer, nil, 404, "not live"},
		{"unknown route", "GET", "/nope", "", "", nil, 404, "not found"},
	}
	for _, c := range cases {
		status, hdr, body := do(t, c.method, n.base+c.path, c.ctype, c.body, c.hdr...)
		wantProblem(t, c.name, status, hdr, body, c.status, c.detail)
	}
	if st := n.app.SFU().Stats(); st.Publishers != 1 || st.Subscribers != 1 || st.Rooms != 1 {
		t.Errorf("bad requests left state behind: %+v", st)
	}
	time.Sleep(time.Second)
	after, _ := track(v, "live", "video", 0)
	if after.Frames < before.Frames+20 || after.Missing != 0 {
		t.Errorf("the bystander stalled: frames %d → %d, missing %d", before.Frames, after.Frames, after.Missing)
	}
}

// Trickle ICE and ICE restart over PATCH (RFC 9725 §4.3): a restart answers with
// the server's new credentials and a new ETag; the old ETag is then stale (412).
func TestPatchTrickleAndRestart(t *testing.T) {
	n := startNode(t, nil)
	publishSynthetic(t, n, "ice", "k-ice-1234", 30, false)
	status, hdr, body := do(t, "POST", n.base+"/whep/ice", "application/sdp", makeOffer(t, webrtc.RTPTransceiverDirectionRecvonly))
	if status != 201 {
		t.Fatalf("WHEP: %d %s", status, body)
	}
	loc, etag := hdr.Get("Location"), hdr.Get("ETag")
	if !strings.HasPrefix(loc, "/whep/ice/") || etag == "" || hdr.Get("Accept-Patch") != "application/trickle-ice-sdpfrag" {
		t.Fatalf("headers %v", hdr)
	}
	frag := "a=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host\r\n"
	status, _, body = do(t, "PATCH", n.base+loc, "application/trickle-ice-sdpfrag", frag, "If-Match", etag)
	if status != 204 {
		t.Fatalf("trickle: %d %s", status, body)
	}
	restart := "a=ice-ufrag:newufrag\r\na=ice-pwd:newpasswordnewpasswordnew1\r\n"
	status, hdr2, body := do(t, "PATCH", n.base+loc, "application/trickle-ice-sdpfrag", restart, "If-Match", "*")
	if status != 200 || !strings.Contains(body, "a=ice-ufrag:") || !strings.Contains(body, "a=candidate:") {
		t.Fatalf("ICE restart: %d %q", status, body)
	}
	if hdr2.Get("ETag") == etag || hdr2.Get("ETag") == "" {
		t.Fatalf("ETag did not change on restart: %q", hdr2.Get("ETag"))
	}
	status, h3, body := do(t, "PATCH", n.base+loc, "application/trickle-ice-sdpfrag", frag, "If-Match", etag)
	wantProblem(t, "stale ETag", status, h3, body, 412, "changed")
	status, h4, body := do(t, "PATCH", n.base+loc, "application/trickle-ice-sdpfrag", "a=bogus\r\n", "If-Match", "*")
	wantProblem(t, "bad fragment", status, h4, body, 400, "unexpected line")
	status, _, _ = do(t, "OPTIONS", n.base+"/whip/ice", "", "")
	if status != 204 {
		t.Fatalf("OPTIONS: %d", status)
	}
	status, _, _ = do(t, "DELETE", n.base+loc, "", "")
	if status != 200 {
		t.Fatalf("DELETE: %d", status)
	}
	status, h5, body := do(t, "DELETE", n.base+loc, "", "")
	wantProblem(t, "second DELETE", status, h5, body, 404, "session")
}
