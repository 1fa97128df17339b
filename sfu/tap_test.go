package sfu

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// stage is an SFU with one live room whose publisher the test plays by hand.
type stage struct {
	sfu  *SFU
	room *Router
	slot *slot
	up   *upstream
}

func newStage(t *testing.T) *stage {
	t.Helper()
	s, err := New(Config{UDPPort: -1, LoopbackOnly: true}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	st := &stage{sfu: s}
	st.publish(t)
	return st
}

// publish puts publisher "alice" on room "tv" (again, for a republish), with
// a fresh upstream whose keyframe requests go to an unconnected peer.
func (st *stage) publish(t *testing.T) *publisher {
	t.Helper()
	p, up := st.join(t, "alice", false)
	st.room, st.slot, st.up = p.router, p.slot, up
	return p
}

// join puts publisher identity on room "tv" (without video when noVideo)
// with a fresh upstream for its video.
func (st *stage) join(t *testing.T, identity string, noVideo bool) (*publisher, *upstream) {
	t.Helper()
	r, err := st.sfu.router("tv", true)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	p := &publisher{sess: &Session{Identity: identity, pc: pc, done: make(chan struct{})}, router: r, ready: make(chan struct{}),
		stats: &st.sfu.stats, noVideo: noVideo}
	if _, err := r.addPublisher(p, strings.ToLower(webrtc.MimeTypeVP8), ""); err != nil {
		t.Fatal(err)
	}
	up := &upstream{pc: pc, throttle: 200 * time.Millisecond, stats: &st.sfu.stats}
	p.slot.video.layers[0].up.Store(up)
	return p, up
}

// listenPair binds an RTP port and the RTCP port above it on loopback.
func listenPair(t *testing.T) (rtpConn, rtcpConn *net.UDPConn) {
	t.Helper()
	for range 50 {
		a, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		port := a.LocalAddr().(*net.UDPAddr).Port
		if b, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port + 1}); err == nil {
			t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
			return a, b
		}
		_ = a.Close()
	}
	t.Fatal("no two adjacent free UDP ports")
	return nil, nil
}

// readRTP reads n packets (or fails after a few seconds).
func readRTP(t *testing.T, c *net.UDPConn, n int) []rtp.Packet {
	t.Helper()
	var out []rtp.Packet
	buf := make([]byte, maxPacket)
	for len(out) < n {
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		k, err := c.Read(buf)
		if err != nil {
			t.Fatalf("after %d of %d packets: %v", len(out), n, err)
		}
		var p rtp.Packet
		if err := p.Unmarshal(append([]byte(nil), buf[:k]...)); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func opusPacket(seq uint16, ts uint32) []byte {
	b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq, Timestamp: ts, SSRC: 7}, Payload: []byte{0xfc, 1, 2, 3}}).Marshal()
	return b
}

func TestTapSendsRTPFromAKeyframe(t *testing.T) {
	st := newStage(t)
	vRTP, vRTCP := listenPair(t)
	aRTP, _ := listenPair(t)
	tap, err := st.sfu.Tap("tv", []TapAddrs{{vRTP.LocalAddr().(*net.UDPAddr), aRTP.LocalAddr().(*net.UDPAddr)}})
	if err != nil {
		t.Fatal(err)
	}
	defer tap.Close()
	if st.up.lastPLI.Load() != 0 {
		t.Fatal("the tap asked for a keyframe before it started")
	}
	tap.Start()
	if st.up.lastPLI.Load() == 0 {
		t.Fatal("the tap did not ask the publisher for a keyframe when it started")
	}
	tracks := tap.Tracks()
	if len(tracks) != 2 || tracks[0].Kind != "video" || tracks[0].Codec() != "VP8" || tracks[0].PayloadType != TapVideoPT || tracks[0].ClockRate != 90000 ||
		tracks[1].Kind != "audio" || tracks[1].Codec() != "opus" || tracks[1].PayloadType != TapAudioPT || tracks[1].ClockRate != 48000 || tracks[1].Channels != 2 ||
		tracks[0].SSRC == tracks[1].SSRC {
		t.Fatalf("tracks %+v", tracks)
	}
	for i := range 10 {
		inject(st.slot.video, st.up, vp8Packet(uint16(500+i), uint32(i)*3000, i == 3))
	}
	inject(st.slot.audio, st.up, opusPacket(9, 960))
	got := readRTP(t, vRTP, 7)
	for i, p := range got {
		if p.PayloadType != TapVideoPT || p.SSRC != tracks[0].SSRC || p.SequenceNumber != got[0].SequenceNumber+uint16(i) {
			t.Fatalf("packet %d: %+v", i, p.Header)
		}
	}
	if got[0].Payload[1]&0x01 != 0 {
		t.Fatal("the first packet sent is not the keyframe")
	}
	a := readRTP(t, aRTP, 1)[0]
	if a.PayloadType != TapAudioPT || a.SSRC != tracks[1].SSRC {
		t.Fatalf("audio %+v", a.Header)
	}
	// A sender report maps the wall clock to the stream's timestamps.
	buf := make([]byte, maxPacket)
	_ = vRTCP.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, err := vRTCP.Read(buf)
	if err != nil {
		t.Fatalf("no sender report: %v", err)
	}
	pkts, err := rtcp.Unmarshal(buf[:n])
	if err != nil {
		t.Fatal(err)
	}
	sr, ok := pkts[0].(*rtcp.SenderReport)
	if !ok || sr.SSRC != tracks[0].SSRC || sr.RTPTime != got[0].Timestamp {
		t.Fatalf("RTCP %+v, want a sender report for SSRC %d at %d", pkts[0], tracks[0].SSRC, got[0].Timestamp)
	}
	if d := time.Since(ntpToTime(sr.NTPTime)); d < 0 || d > 5*time.Second {
		t.Fatalf("sender report's wall clock is %v off", d)
	}
	// The count follows each write, which the reader may overtake.
	eventually(t, "8 packets counted", func() bool { return tap.Stats().Packets == 8 })
	if s := tap.Stats(); s.Packets != 8 || s.Dropped != 0 {
		t.Fatalf("stats %+v, want 8 packets sent", s)
	}
}

func ntpToTime(v uint64) time.Time {
	return time.Unix(int64(v>>32)-2208988800, int64((v&0xffffffff)*1e9>>32))
}

// videoTap taps room "tv"'s video to a fresh port pair and starts it.
func videoTap(t *testing.T, st *stage) (*Tap, *net.UDPConn) {
	t.Helper()
	vRTP, _ := listenPair(t)
	tap, err := st.sfu.Tap("tv", []TapAddrs{{Video: vRTP.LocalAddr().(*net.UDPAddr)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tap.Close() })
	tap.Start()
	return tap, vRTP
}

// A republish keeps the tap's stream continuous, as it does a viewer's.
func TestTapSurvivesRepublish(t *testing.T) {
	st := newStage(t)
	tap, vRTP := videoTap(t, st)
	for i := range 5 {
		inject(st.slot.video, st.up, vp8Packet(uint16(60000+i), uint32(i)*3000, i == 0))
	}
	first := readRTP(t, vRTP, 5)
	old := st.slot.pub
	st.room.publisherLeft(old)
	st.publish(t) // the same identity takes its slot back
	if st.slot != old.slot {
		t.Fatal("the republish did not keep the slot")
	}
	for i := range 5 {
		inject(st.slot.video, st.up, vp8Packet(uint16(10+i), uint32(777000+i*3000), i == 1))
	}
	second := readRTP(t, vRTP, 4)
	if second[0].SequenceNumber != first[4].SequenceNumber+1 {
		t.Fatalf("after the republish seq %d follows %d", second[0].SequenceNumber, first[4].SequenceNumber)
	}
	select {
	case <-tap.Done():
		t.Fatal("the tap ended with the republish")
	default:
	}
}

func TestTapEndsWithTheRoom(t *testing.T) {
	st := newStage(t)
	tap, vRTP := videoTap(t, st)
	st.sfu.Kick("tv", "alice")
	select {
	case <-tap.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("the tap did not end with its room")
	}
	if _, err := st.sfu.Tap("tv", []TapAddrs{{Video: vRTP.LocalAddr().(*net.UDPAddr)}}); !errors.Is(err, ErrNotLive) {
		t.Fatalf("tap on an ended room: %v", err)
	}
}

// A tap whose writes stall drops its own packets; viewers get every one.
func TestStuckTapDoesNotBlockViewers(t *testing.T) {
	st := newStage(t)
	st.sfu.cfg.QueueLen = 16
	tap, _ := videoTap(t, st)
	stuck := &sinkWriter{block: make(chan struct{})}
	defer close(stuck.block)
	tap.pairs[0].video.out.Store(&binding{w: stuck, ssrc: 1, pt: TapVideoPT, clockRate: 90000})
	var vs counters
	viewer := &sinkWriter{}
	newBoundDownTrack(t, st.slot.video, viewer, 1024, &vs)
	const n = 500
	for i := range n {
		inject(st.slot.video, st.up, vp8Packet(uint16(i), uint32(i)*3000, i == 0))
	}
	eventually(t, "the viewer to get every packet", func() bool { return viewer.n.Load() == n })
	if d := tap.Stats().Dropped; d < n-20 {
		t.Fatalf("the stuck tap dropped %d packets, want about %d", d, n-17)
	}
}

func TestTapRefusesBadAddresses(t *testing.T) {
	st := newStage(t)
	for _, a := range []*net.UDPAddr{
		{IP: net.IPv4(10, 0, 0, 1), Port: 5004},
		{IP: net.IPv4(127, 0, 0, 1), Port: 65535},
		{IP: net.IPv4(127, 0, 0, 1)},
	} {
		if _, err := st.sfu.Tap("tv", []TapAddrs{{Video: a}}); err == nil {
			t.Errorf("tap to %v accepted", a)
		}
	}
	if _, err := st.sfu.Tap("tv", []TapAddrs{{}}); err == nil {
		t.Error("a tap with no address accepted")
	}
	if _, err := st.sfu.Tap("radio", []TapAddrs{{Video: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5004}}}); !errors.Is(err, ErrNotLive) {
		t.Errorf("tap on a room that is not live: %v", err)
	}
}

// stageAddrs are n slots' worth of fresh loopback port pairs, video and audio.
func stageAddrs(t *testing.T, n int) ([]TapAddrs, []*net.UDPConn) {
	t.Helper()
	var addrs []TapAddrs
	var video []*net.UDPConn
	for range n {
		v, _ := listenPair(t)
		a, _ := listenPair(t)
		addrs = append(addrs, TapAddrs{v.LocalAddr().(*net.UDPAddr), a.LocalAddr().(*net.UDPAddr)})
		video = append(video, v)
	}
	return addrs, video
}

func changed(tap *Tap) bool {
	select {
	case <-tap.Changed():
		return true
	default:
		return false
	}
}

// A tap with room for four co-hosts sends each co-host's tracks to its own
// addresses, leaves out a kind a co-host does not send, and says when the
// stage changes.
func TestTapShowsEveryCoHost(t *testing.T) {
	st := newStage(t)
	_, bobUp := st.join(t, "bob", false)
	st.join(t, "carol", true) // audio only
	addrs, video := stageAddrs(t, 4)
	tap, err := st.sfu.Tap("tv", addrs)
	if err != nil {
		t.Fatal(err)
	}
	defer tap.Close()
	var got []string
	for _, tr := range tap.Tracks() {
		got = append(got, fmt.Sprintf("%d:%s", tr.Slot, tr.Kind))
	}
	if want := "0:video 0:audio 1:video 1:audio 2:audio"; strings.Join(got, " ") != want {
		t.Fatalf("tracks %v, want %s", got, want)
	}
	if changed(tap) {
		t.Fatal("Changed before the stage changed")
	}
	tap.Start()
	if bobUp.lastPLI.Load() == 0 || st.up.lastPLI.Load() == 0 {
		t.Fatal("the tap did not ask every co-host for a keyframe")
	}
	bob := st.room.slots[1]
	inject(st.slot.video, st.up, vp8Packet(1, 3000, true))
	inject(bob.video, bobUp, vp8Packet(1, 3000, true))
	if p := readRTP(t, video[0], 1)[0]; p.SSRC != tap.Tracks()[0].SSRC {
		t.Fatalf("alice's video went to %d", p.SSRC)
	}
	if p := readRTP(t, video[1], 1)[0]; p.SSRC != tap.Tracks()[2].SSRC {
		t.Fatalf("bob's video went to %d", p.SSRC)
	}
	st.join(t, "dave", false)
	if !changed(tap) {
		t.Fatal("a fourth co-host joined and the tap did not say the stage changed")
	}
}

func TestTapChangesWhenAShownCoHostLeaves(t *testing.T) {
	st := newStage(t)
	st.join(t, "bob", false)
	addrs, _ := stageAddrs(t, 1)
	tap, err := st.sfu.Tap("tv", addrs)
	if err != nil {
		t.Fatal(err)
	}
	defer tap.Close()
	if len(tap.Tracks()) != 2 || tap.Tracks()[0].Slot != 0 {
		t.Fatalf("a one-slot tap sends %+v", tap.Tracks())
	}
	st.join(t, "carol", false) // no address to spare: nothing to change
	st.sfu.Kick("tv", "bob")   // not shown
	if changed(tap) {
		t.Fatal("Changed for co-hosts the tap does not show")
	}
	st.sfu.Kick("tv", "alice")
	if !changed(tap) {
		t.Fatal("the co-host the tap showed left and Changed stayed open")
	}
	if p := tap.pairs[0]; p.slot == nil || p.slot.identity != "carol" {
		t.Fatal("the pair of the co-host that left does not show the one that remains")
	}
}
