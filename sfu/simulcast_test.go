package sfu

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

func TestRankRIDs(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"f h q", "q h f"},
		{"q f h", "q h f"},
		{"h m l", "l m h"},
		{"high low mid", "low mid high"},
		{"2 0 1", "0 1 2"},
		{"10 9", "9 10"},
		{"a b c", "c b a"}, // unknown names: a=simulcast order, highest first
		{"", ""},
	} {
		if got := strings.Join(rankRIDs(strings.Fields(c.in)), " "); got != c.want {
			t.Errorf("rankRIDs(%s) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestSimulcastOffer(t *testing.T) {
	for _, c := range []struct{ attr, want string }{
		{"send f;h;q", "f h q"},
		{"send ~f;h,h2;q recv x", "f h q"},
		{"recv a;b send 1;2", "1 2"},
		{"recv a", ""},
	} {
		if got := strings.Join(simulcastSend(c.attr), " "); got != c.want {
			t.Errorf("a=simulcast:%s → %q, want %q", c.attr, got, c.want)
		}
	}
	offer := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
		"m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\n" +
		"a=rid:f send\r\na=rid:h send\r\na=rid:q send\r\na=rid:x recv\r\n"
	info, err := parseOffer(offer)
	if err != nil || strings.Join(info.video[0].rids, " ") != "f h q" {
		t.Fatalf("rids from a=rid alone: %v %v", info.video, err)
	}
	info, _ = parseOffer(offer + "a=simulcast:send q;h;f\r\n")
	if strings.Join(info.video[0].rids, " ") != "q h f" {
		t.Fatalf("a=simulcast order: %v", info.video[0].rids)
	}
	info, _ = parseOffer(offer + "a=rid:z send\r\n")
	if err := checkSimulcast(info); err == nil || !strings.Contains(err.Error(), "at most 3") {
		t.Fatalf("four encodings: %v", err)
	}
}

func TestParseLayer(t *testing.T) {
	for in, want := range map[string]int{"": -1, "auto": -1, "low": 0, "q": 0, "MID": 1, "h": 1, "high": 2, "f": 2, "2": 2} {
		if got, err := ParseLayer(in); err != nil || got != want {
			t.Errorf("ParseLayer(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := ParseLayer("ultra"); err == nil {
		t.Error("ParseLayer(ultra) accepted")
	}
}

// simulcastFeed is a VP8 feed whose three layers have upstreams.
func simulcastFeed(t *testing.T) (*feed, [maxLayers]*upstream, *counters) {
	var st counters
	f := vp8Feed()
	f.count.Store(maxLayers)
	var ups [maxLayers]*upstream
	for l := range ups {
		pc, _ := webrtc.NewPeerConnection(webrtc.Configuration{})
		t.Cleanup(func() { _ = pc.Close() })
		ups[l] = &upstream{pc: pc, ssrc: uint32(100 + l), throttle: time.Hour, stats: &st}
		f.layers[l].up.Store(ups[l])
		f.layers[l].last.Store(time.Now().UnixNano())
	}
	return f, ups, &st
}

// injectLayer feeds a packet of layer l as the publisher's reader does.
func injectLayer(f *feed, l int, u *upstream, raw []byte) {
	p := rtpPacket(f, u, l, raw, true, false)
	f.forward(p)
	p.release()
}

// A viewer switching layers keeps the old layer until the new one's
// keyframe, then only the new one, with no gap in its sequence numbers; only
// the layers viewers are on are asked for keyframes.
func TestLayerSwitchAtKeyframe(t *testing.T) {
	f, ups, st := simulcastFeed(t)
	w := &sinkWriter{keep: true}
	d := newDownTrack("v", "s", f.kind, f.codec, 1024, st)
	d.want.Store(1)
	d.out.Store(&binding{w: w, ssrc: 1234, pt: 96, clockRate: 90000})
	d.ready.Store(true)
	f.add(d)
	t.Cleanup(d.close)
	if d.target.Load() != 1 {
		t.Fatalf("started on layer %d, want 1", d.target.Load())
	}
	seq := [maxLayers]uint16{1000, 2000, 3000}
	send := func(l int, key bool) {
		seq[l]++
		injectLayer(f, l, ups[l], vp8Packet(seq[l], uint32(seq[l])*3000, key))
	}
	send(1, true)
	for range 5 {
		send(0, true) // nobody on layer 0
		send(1, false)
		send(2, false)
	}
	eventually(t, "layer 1's packets", func() bool { return w.n.Load() == 6 })

	d.setLayer(2)
	if ups[2].lastPLI.Load() == 0 {
		t.Fatal("switching to layer 2 did not ask it for a keyframe")
	}
	send(1, false) // still layer 1: 7
	send(2, false) // not a keyframe: dropped
	send(2, true)  // the switch: 8
	send(1, false) // layer 1 is left: dropped
	send(2, false) // 9
	eventually(t, "the switch", func() bool { return w.n.Load() == 9 })
	time.Sleep(20 * time.Millisecond)
	if w.n.Load() != 9 {
		t.Fatalf("%d packets sent, want 9", w.n.Load())
	}
	w.mu.Lock()
	for i := 1; i < len(w.seqs); i++ {
		if w.seqs[i] != w.seqs[i-1]+1 {
			t.Fatalf("sequence gap across the switch: %v", w.seqs)
		}
	}
	w.mu.Unlock()
	if ups[0].lastPLI.Load() != 0 {
		t.Fatal("layer 0, which nobody watches, was asked for a keyframe")
	}
	if n := len(*f.layers[1].subs.Load()); n != 0 {
		t.Fatalf("layer 1 still forwards to %d tracks after the switch", n)
	}
	if st.switches.Load() != 1 {
		t.Fatalf("switches = %d", st.switches.Load())
	}
}

// fixedEstimate is a bandwidth estimate a test sets.
type fixedEstimate struct{ bps int }

func (e *fixedEstimate) GetTargetBitrate() int { return e.bps }

// allocFixture is one simulcast track under an allocator with est, ticked
// by hand: step moves the clock one tick on with each layer sending its rate.
type allocFixture struct {
	f   *feed
	d   *downTrack
	a   *allocator
	now time.Time
}

func newAllocFixture(t *testing.T, audio int, est estimator) *allocFixture {
	f, _, st := simulcastFeed(t)
	d := newDownTrack("v", "s", f.kind, f.codec, 64, st)
	d.want.Store(startLayer)
	f.add(d)
	t.Cleanup(d.close)
	a := newAllocator([]*downTrack{d}, audio)
	a.setEstimator(est)
	return &allocFixture{f: f, d: d, a: a, now: time.Now()}
}

func (x *allocFixture) step(rates [maxLayers]float64) {
	x.now = x.now.Add(allocTick)
	for l, r := range rates {
		if r > 0 {
			x.f.layers[l].bytes.Add(uint64(r * allocTick.Seconds() / 8))
			x.f.layers[l].last.Store(x.now.UnixNano())
		}
	}
	x.a.tick(x.now)
}

// The allocator gives the highest layer that fits, goes down at once when
// the estimate falls, up only after the higher layer fitted for a while,
// probes with padding when the next layer does not fit, and keeps a pin.
func TestAllocatorChoosesByEstimate(t *testing.T) {
	est := &fixedEstimate{bps: 5_000_000}
	x := newAllocFixture(t, 1, est)
	f, d, a, tr, step := x.f, x.d, x.a, x.a.tracks[0], x.step
	rates := [maxLayers]float64{150_000, 500_000, 1_500_000}
	for range 6 {
		step(rates)
	}
	if d.target.Load() != 2 {
		t.Fatalf("with 5 Mbit/s: layer %d, want 2", d.target.Load())
	}
	est.bps = 700_000 // 636 kbit/s for video
	step(rates)
	if d.target.Load() != 1 {
		t.Fatalf("with 700 kbit/s: layer %d, want 1 at once", d.target.Load())
	}
	est.bps = 200_000
	step(rates)
	if d.target.Load() != 0 {
		t.Fatalf("with 200 kbit/s: layer %d, want 0", d.target.Load())
	}
	est.bps = 50_000 // nothing fits: the lowest layer still
	step(rates)
	if d.target.Load() != 0 {
		t.Fatalf("with 50 kbit/s: layer %d, want 0", d.target.Load())
	}
	est.bps = 800_000
	step(rates)
	if d.target.Load() != 0 {
		t.Fatal("moved up on the first tick the higher layer fitted")
	}
	step(rates)
	if d.target.Load() != 1 {
		t.Fatalf("after %d ticks of fitting: layer %d, want 1", upHold, d.target.Load())
	}
	// Layer 2 does not fit: once the pause after a move down has passed,
	// the allocator probes by padding toward its rate.
	for i := 0; a.probes.Load() == 0 && i < 30; i++ {
		step(rates)
	}
	if a.probes.Load() != 1 || d.padOwed.Load() <= 0 || d.target.Load() != 1 {
		t.Fatalf("probes %d, padding owed %d, layer %d: want a probe toward layer 2 from layer 1", a.probes.Load(), d.padOwed.Load(), d.target.Load())
	}
	// A pin wins over the estimate; a cap bounds the choice.
	tr.pin.Store(0)
	step(rates)
	if d.target.Load() != 0 {
		t.Fatalf("pinned to 0: layer %d", d.target.Load())
	}
	tr.pin.Store(-1)
	tr.cap.Store(1)
	est.bps = 50_000_000
	for range 4 {
		step(rates)
	}
	if d.target.Load() != 1 {
		t.Fatalf("capped at 1: layer %d", d.target.Load())
	}
	// A layer the publisher stopped sending is left for one it sends.
	tr.cap.Store(2)
	for range 4 {
		step(rates)
	}
	f.layers[2].last.Store(time.Now().Add(-time.Minute).UnixNano())
	f.layers[2].up.Store(nil)
	step([maxLayers]float64{150_000, 500_000, 0})
	if d.target.Load() != 1 {
		t.Fatalf("layer 2 stopped: layer %d, want 1", d.target.Load())
	}
}

// Padding goes out after a frame's last packet, numbered in the stream.
func TestPaddingBetweenFrames(t *testing.T) {
	var st counters
	f := vp8Feed()
	u := &upstream{throttle: time.Hour, stats: &st}
	w := &sinkWriter{keep: true}
	d := newBoundDownTrack(t, f, w, 64, &st)
	d.pad(3 * float64(len(padPayload)))
	for i := range 4 {
		inject(f, u, vp8Packet(uint16(10+i), uint32(i)*3000, i == 0)) // each a whole frame (marker set)
	}
	deadline := time.Now().Add(5 * time.Second)
	for w.n.Load() != 7 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := w.n.Load(); n != 7 {
		t.Fatalf("%d packets sent (%v), want 4 frames and 3 padding packets; %d bytes owed", n, w.seqs, d.padOwed.Load())
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := 1; i < len(w.seqs); i++ {
		if w.seqs[i] != w.seqs[i-1]+1 {
			t.Fatalf("sequence gap: %v", w.seqs)
		}
	}
	if st.padding.Load() == 0 || d.padOwed.Load() > 0 {
		t.Fatalf("padding sent %d bytes, %d owed", st.padding.Load(), d.padOwed.Load())
	}
	if !slices.IsSorted(w.seqs) {
		t.Fatal(w.seqs)
	}
}

func TestPlayoutDelayPayload(t *testing.T) {
	// 0 and 500 ms: 12 bits of 0, 12 bits of 50.
	if got := playoutDelay(0, 500*time.Millisecond); got != [3]byte{0x00, 0x00, 0x32} {
		t.Fatalf("payload % x", got)
	}
	if got := playoutDelay(100*time.Millisecond, 40950*time.Millisecond); got != [3]byte{0x00, 0xaf, 0xff} {
		t.Fatalf("payload % x", got)
	}
}

// reportingEstimate is a fixedEstimate that also reports the path's health.
type reportingEstimate struct {
	fixedEstimate
	loss  float64
	usage string
}

func (e *reportingEstimate) GetStats() map[string]any {
	return map[string]any{"averageLoss": e.loss, "usage": e.usage}
}

// With a path report, a probe the path carries cleanly moves the track up
// without waiting for the estimate; congestion during a probe ends it.
func TestCleanProbeMovesUp(t *testing.T) {
	est := &reportingEstimate{fixedEstimate: fixedEstimate{bps: 1_000_000}, usage: "normal"}
	x := newAllocFixture(t, 0, est)
	d, a := x.d, x.a
	rates := [maxLayers]float64{150_000, 500_000, 1_500_000}
	step := func() {
		d.padOwed.Store(0) // the writer sent what the probe asked for
		x.step(rates)
	}
	for range 3 {
		step()
	}
	if d.target.Load() != 1 || a.probes.Load() != 1 {
		t.Fatalf("layer %d, probes %d: want a probe from the middle layer", d.target.Load(), a.probes.Load())
	}
	step()
	step()
	if d.target.Load() != 2 {
		t.Fatalf("after %d clean probe ticks: layer %d, want 2", upHold, d.target.Load())
	}
	// The proven layer waits for the estimate to catch up; congestion ends
	// the wait at once.
	step()
	step()
	if d.target.Load() != 2 {
		t.Fatalf("left the proven layer: %d", d.target.Load())
	}
	est.bps, est.loss = 700_000, 0.05
	step()
	if d.target.Load() != 1 {
		t.Fatalf("with 700 kbit/s and 5%% loss: layer %d", d.target.Load())
	}
	est.loss = 0
	// Then a probe into a growing delay ends without moving up.
	for i := 0; a.probes.Load() == 1 && i < 30; i++ {
		step()
	}
	est.usage = "overuse"
	step()
	step()
	step()
	if d.target.Load() != 1 {
		t.Fatalf("moved up through a congested probe: layer %d", d.target.Load())
	}
}
