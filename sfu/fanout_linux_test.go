//go:build linux

package sfu

import (
	"net"
	"runtime"
	"testing"
	"time"
)

// A frame goes out to the steady viewers on the wire from the goroutine that
// forwards it, before forwardFrame returns; a viewer whose track is busy
// (here: its lock held) gets it from its writer later, in order, and the
// next frame inline again. With two cores the viewers are served in two
// parts.
func TestFanOutInlineAndThroughWriters(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	const viewers = 2 * minPart
	if fanParts(viewers) != 2 {
		t.Fatalf("%d viewers in %d parts on 2 cores, want 2", viewers, fanParts(viewers))
	}
	var st counters
	f := vp8Feed()
	u := &upstream{throttle: time.Hour, stats: &st}
	sock := sfuSocket(t)
	rxs := make([]*net.UDPConn, viewers)
	tracks := make([]*downTrack, viewers)
	for i := range viewers {
		rxs[i] = listen(t)
		d := newDownTrack("v", "s", f.kind, f.codec, 64, &st)
		d.out.Store(&binding{w: &sinkWriter{}, ssrc: 1234, pt: 96, clockRate: 90000})
		d.onWire.Store(sock.wireTo(t, rxs[i], false))
		d.ready.Store(true)
		f.add(d)
		t.Cleanup(d.close)
		tracks[i] = d
	}
	v := newViewerSide(t)
	var frames framer
	seq, ts := uint16(0), uint32(0)
	push := func(key bool) {
		for i := range 3 {
			raw := vp8Packet(seq, ts, key && i == 0)
			raw[1] &^= 0x80
			if i == 2 {
				raw[1] |= 0x80
			}
			frames.add(f, rtpPacket(f, u, 0, raw, false, false))
			seq++
		}
		ts += 3000
	}
	// The keyframe starts every track, through its writer.
	push(true)
	for i, rx := range rxs {
		v.receive(t, rx, 3)
		eventually(t, "the writer to finish", func() bool { return tracks[i].queued.Load() == 0 })
	}
	busy := tracks[viewers-1]
	busy.mu.Lock()
	push(false)
	// Sent by the time the frame is forwarded: no writer was woken.
	for i, rx := range rxs[:viewers-1] {
		if got := v.receive(t, rx, 3); got[0].SequenceNumber != 3 || got[2].SequenceNumber != 5 {
			t.Fatalf("viewer %d: seq %d..%d", i, got[0].SequenceNumber, got[2].SequenceNumber)
		}
	}
	_ = rxs[viewers-1].SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, _, err := rxs[viewers-1].ReadFromUDPAddrPort(make([]byte, 2000)); err == nil {
		t.Fatal("the busy viewer was sent the frame while its track was locked")
	}
	if busy.queued.Load() != 1 {
		t.Fatalf("the busy viewer's writer holds %d frames, want 1", busy.queued.Load())
	}
	push(false) // still waiting for its writer: this one queues behind
	for i, rx := range rxs[:viewers-1] {
		if got := v.receive(t, rx, 3); got[0].SequenceNumber != 6 {
			t.Fatalf("viewer %d: seq %d", i, got[0].SequenceNumber)
		}
	}
	busy.mu.Unlock()
	got := v.receive(t, rxs[viewers-1], 6)
	for i, p := range got {
		if p.SequenceNumber != uint16(3+i) {
			t.Fatalf("the busy viewer's packet %d: seq %d", i, p.SequenceNumber)
		}
	}
	eventually(t, "the busy viewer's writer to finish", func() bool { return busy.queued.Load() == 0 })
	push(false)
	for _, rx := range rxs {
		if got := v.receive(t, rx, 3); got[0].SequenceNumber != 9 {
			t.Fatalf("after the busy spell: seq %d", got[0].SequenceNumber)
		}
	}
	if d := st.dropped.Load(); d != 0 {
		t.Fatalf("%d packets dropped", d)
	}
}
