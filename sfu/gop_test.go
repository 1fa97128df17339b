package sfu

import (
	"testing"
	"time"
)

// ingest feeds a packet as the publisher's reader does, GOP kept.
func ingest(f *feed, u *upstream, raw []byte) {
	p := rtpPacket(f, u, 0, raw, true, true)
	f.forward(p)
	p.release()
}

// A viewer joining mid-GOP starts at once from the kept keyframe and the
// frames after it, their timestamps one tick apart, and the live stream
// follows without a gap or a repeat; no keyframe is asked for.
func TestViewerStartsFromTheGOP(t *testing.T) {
	var st counters
	f := vp8Feed()
	u := &upstream{throttle: time.Hour, stats: &st}
	for i := range 6 {
		ingest(f, u, vp8Packet(uint16(100+i), uint32(i)*3000, i == 0))
	}
	w := &sinkWriter{keep: true}
	newBoundDownTrack(t, f, w, 64, &st)
	ingest(f, u, vp8Packet(106, 6*3000, false))
	eventually(t, "the GOP", func() bool { return w.n.Load() == 7 })
	ingest(f, u, vp8Packet(107, 7*3000, false))
	eventually(t, "the live frame after it", func() bool { return w.n.Load() == 8 })
	time.Sleep(20 * time.Millisecond)
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.seqs) != 8 {
		t.Fatalf("%d packets: %v", len(w.seqs), w.seqs)
	}
	for i := 1; i < len(w.seqs); i++ {
		if w.seqs[i] != w.seqs[i-1]+1 {
			t.Fatalf("seqs %v", w.seqs)
		}
	}
	for i := 1; i < 7; i++ {
		if w.tss[i] != w.tss[0]+uint32(i) {
			t.Fatalf("replayed timestamps %v: want one tick apart", w.tss[:7])
		}
	}
	if w.tss[7] != w.tss[6]+3000 {
		t.Fatalf("live timestamp %d after the replay %v", w.tss[7], w.tss[:7])
	}
	if u.lastPLI.Load() != 0 || st.replays.Load() != 1 {
		t.Fatalf("PLI at %d, replays %d", u.lastPLI.Load(), st.replays.Load())
	}
}

// A GOP over the cap is not kept; a stale one is not replayed: the viewer
// waits for a keyframe and asks for one.
func TestGOPLimits(t *testing.T) {
	var st counters
	f := vp8Feed()
	u := &upstream{throttle: time.Hour, stats: &st}
	ingest(f, u, vp8Packet(1, 0, true))
	g := &f.layers[0].gop
	if len(g.pkts) != 1 {
		t.Fatalf("kept %d", len(g.pkts))
	}
	big := getPacket()
	big.payload = make([]byte, maxGOPBytes)
	big.src = u
	big.hdr.Timestamp = 3000
	g.add(big, time.Now().UnixNano())
	big.release()
	if !g.full || len(g.pkts) != 0 {
		t.Fatal("a GOP over the cap was kept")
	}
	ingest(f, u, vp8Packet(3, 6000, true)) // a new keyframe: kept again
	if g.full || len(g.pkts) != 1 {
		t.Fatal("the next keyframe did not start a new GOP")
	}
	if g.snapshot(time.Now().Add(time.Second).UnixNano()) != nil {
		t.Fatal("a stale GOP would be replayed")
	}
	g.reset()
}
