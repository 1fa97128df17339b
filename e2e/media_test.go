package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	client "github.com/onair-live/onair/clients/go"
	"github.com/onair-live/onair/cmd/onair/app"
)

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

// A VP8 + Opus publisher from files reaches three viewers (one reading with
// UDP_GRO): at least 5 s of video each, with no sequence gaps, and audio.
func TestPublishToThreeViewers(t *testing.T) {
	n := startNode(t, nil)
	ivf, ogg := mediaFiles(t)
	video, err := client.OpenIVF(ivf)
	if err != nil {
		t.Fatal(err)
	}
	audio, err := client.OpenOgg(ogg)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := client.Publish(testContext(t, 20*time.Second), n.opts("demo", "key-1"), video, audio)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close() })

	var viewers []*client.Viewer
	for range 2 {
		viewers = append(viewers, watch(t, n, "demo", "", 1))
	}
	// The third reads the SFU's segmented sends whole (UDP_GRO) and hands
	// them out packet by packet: it must see the same stream.
	o := n.opts("demo", "")
	o.UDPGRO = true
	gro, err := client.Watch(testContext(t, 20*time.Second), o, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gro.Close() })
	viewers = append(viewers, gro)
	for i, v := range viewers {
		eventually(t, 15*time.Second, "a keyframe at every viewer", func() bool {
			_, ok := v.Stats().FirstKeyframe()
			return ok
		})
		ttff, _ := v.Stats().FirstKeyframe()
		t.Logf("viewer %d: first keyframe after %v", i, ttff)
	}
	time.Sleep(5500 * time.Millisecond)
	for i, v := range viewers {
		vt, ok := track(v, "demo", "video", 0)
		if !ok {
			t.Fatalf("viewer %d has no video track: %+v", i, v.Stats().Tracks)
		}
		at, ok := track(v, "demo", "audio", 0)
		if !ok || at.Packets < 200 {
			t.Fatalf("viewer %d audio: %+v", i, at)
		}
		if span := vt.LastPacket - vt.FirstKeyframe; span < 5*time.Second {
			t.Errorf("viewer %d got %v of video, want at least 5 s", i, span)
		}
		if vt.Frames < 140 || vt.Missing != 0 || at.Missing != 0 {
			t.Errorf("viewer %d: video %d frames, %d missing; audio %d missing", i, vt.Frames, vt.Missing, at.Missing)
		}
		// About one a second per track, sealed by the SFU's own write path.
		if vt.SenderReports < 4 || at.SenderReports < 4 {
			t.Errorf("viewer %d: %d video and %d audio sender reports in 5.5 s", i, vt.SenderReports, at.SenderReports)
		}
		if !strings.EqualFold(vt.Codec, "video/vp8") || !strings.EqualFold(at.Codec, "audio/opus") {
			t.Errorf("viewer %d codecs %s %s", i, vt.Codec, at.Codec)
		}
	}
	st := n.app.SFU().Stats()
	if st.Publishers != 1 || st.Subscribers != 3 || st.PacketsOut == 0 {
		t.Errorf("stats %+v", st)
	}
}

// Two co-hosts share a stage: each one's own WHEP session shows the other, never
// itself; a plain viewer sees both.
func TestCoHosts(t *testing.T) {
	n := startNode(t, nil)
	// Alice sends video at 30 fps with audio; Bob video only at 10 fps, so their
	// streams are told apart by frame rate and by audio.
	publishSynthetic(t, n, "stage", "alice-key", 30, true)
	publishSynthetic(t, n, "stage", "bob-key", 10, false)

	viewer := watch(t, n, "stage", "", 4)
	aliceView := watch(t, n, "stage", "alice-key", 4)
	bobView := watch(t, n, "stage", "bob-key", 4)
	time.Sleep(4 * time.Second)

	fps := func(tr client.TrackStats) float64 {
		span := (tr.LastPacket - tr.FirstKeyframe).Seconds()
		if span <= 0 {
			return 0
		}
		return float64(tr.Frames) / span
	}
	live := func(v *client.Viewer, kind string) []client.TrackStats {
		var out []client.TrackStats
		for _, tr := range v.Stats().Tracks {
			if tr.Kind == kind && tr.Packets > 20 {
				out = append(out, tr)
			}
		}
		return out
	}
	if got := live(viewer, "video"); len(got) != 2 {
		t.Fatalf("viewer sees %d live video tracks, want 2: %+v", len(got), viewer.Stats().Tracks)
	}
	if got := live(viewer, "audio"); len(got) != 1 {
		t.Fatalf("viewer hears %d audio tracks, want Alice's only", len(got))
	}
	av := live(aliceView, "video")
	if len(av) != 1 || fps(av[0]) > 15 {
		t.Fatalf("Alice's view should show Bob's 10 fps video only: %+v", av)
	}
	if got := live(aliceView, "audio"); len(got) != 0 {
		t.Fatalf("Alice hears herself: %+v", got)
	}
	bv := live(bobView, "video")
	if len(bv) != 1 || fps(bv[0]) < 20 {
		t.Fatalf("Bob's view should show Alice's 30 fps video only: %+v", bv)
	}
	if got := live(bobView, "audio"); len(got) != 1 {
		t.Fatalf("Bob should hear Alice: %+v", got)
	}
}

// The publisher drops and comes back with the same key within the grace period:
// viewers keep their sessions and their sequence numbers stay continuous.
func TestSeamlessRepublish(t *testing.T) {
	n := startNode(t, nil)
	first := publishSynthetic(t, n, "again", "same-key", 30, true)
	v := watch(t, n, "again", "", 1)
	eventually(t, 15*time.Second, "video before the drop", func() bool {
		tr, ok := track(v, "again", "video", 0)
		return ok && tr.Frames > 30
	})
	location := v.Location()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	before, _ := track(v, "again", "video", 0)
	time.Sleep(500 * time.Millisecond)
	publishSynthetic(t, n, "again", "same-key", 30, true)
	eventually(t, 15*time.Second, "video after the republish", func() bool {
		tr, _ := track(v, "again", "video", 0)
		return tr.Frames > before.Frames+60
	})
	after, _ := track(v, "again", "video", 0)
	audio, _ := track(v, "again", "audio", 0)
	if after.Missing != 0 || audio.Missing != 0 || after.Duplicates != 0 {
		t.Fatalf("sequence broke across the republish: video %+v audio missing %d", after, audio.Missing)
	}
	if after.Keyframes < 2 {
		t.Errorf("keyframes %d: the new publisher's stream should start at a keyframe", after.Keyframes)
	}
	if v.Location() != location || len(v.Stats().Tracks) != 2 {
		t.Fatalf("viewer session changed")
	}
	if st := n.app.SFU().Stats(); st.Publishers != 1 || st.Subscribers != 1 {
		t.Fatalf("after republish: %+v", st)
	}
}

// When the last publisher leaves and the grace period passes, the room ends and
// its viewers are disconnected; WHEP then answers 404.
func TestRoomEndsAfterGrace(t *testing.T) {
	n := startNode(t, func(c *app.Config) { c.SFU.RepublishGrace = 300 * time.Millisecond })
	p := publishSynthetic(t, n, "brief", "k-brief", 30, false)
	v := watch(t, n, "brief", "", 1)
	if err := v.WaitConnected(testContext(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	_ = p.Close()
	eventually(t, 10*time.Second, "the viewer to be dropped", func() bool { return n.app.SFU().Stats().Subscribers == 0 })
	status, _, body := do(t, "POST", n.base+"/whep/brief", "application/sdp", makeOffer(t, webrtc.RTPTransceiverDirectionRecvonly))
	if status != 404 || !strings.Contains(body, "not live") {
		t.Fatalf("WHEP after the end: %d %s", status, body)
	}
}
