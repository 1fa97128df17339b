//go:build linux

package sfu

import (
	"bytes"
	"fmt"
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// resend sends the packets with these sequence numbers again as they were
// sealed, when due a repair (repairGap apart, no budget), as a track without
// RTX does; it returns how many it sent.
func (w *wire) resend(seqs []uint16, now int64) int {
	n := 0
	for _, seq := range seqs {
		if s, _ := w.repair(seq, now, int64(repairGap), nil); s != nil && w.sendSealed(s) {
			n++
		}
	}
	return n
}

// reopen reads media packet seq back from the ring, when it still holds it.
func (w *wire) reopen(seq uint16) ([]byte, bool) {
	s, ok := w.find(seq)
	if !ok {
		return nil, false
	}
	return w.open(s, seq)
}

// testKeys are fixed SRTP keys for a wire and the viewer that opens its packets.
var testKeys = srtpKeys{profile: srtp.ProtectionProfileAeadAes128Gcm, key: bytes.Repeat([]byte{7}, 16), salt: bytes.Repeat([]byte{9}, 12)}

// wireTo makes a wire whose packets go through one of the SFU's sockets to rx.
func wireTo(t testing.TB, rx *net.UDPConn, audio bool) (*wire, *counters) {
	t.Helper()
	s := sfuSocket(t)
	return s.wireTo(t, rx, audio), s.stats
}

// testSocket is an SFU socket that wires to many viewers share.
type testSocket struct {
	conn  *batchConn
	corks *corks
	stats *counters
}

func sfuSocket(t testing.TB) *testSocket {
	t.Helper()
	uc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &testSocket{corks: &corks{}, stats: &counters{}}
	if s.conn, err = newBatchConn(uc, s.corks, s.stats); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.conn.Close() })
	return s
}

// wireTo makes a wire whose packets go through s to rx.
func (s *testSocket) wireTo(t testing.TB, rx *net.UDPConn, audio bool) *wire {
	t.Helper()
	ck := s.corks.get(rx.LocalAddr().(*net.UDPAddr).AddrPort())
	ck.saw(s.conn)
	var to atomic.Pointer[cork]
	to.Store(ck)
	ctx, err := testKeys.context(false)
	if err != nil {
		t.Fatal(err)
	}
	own, err := testKeys.context(false)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := testKeys.sealer(false)
	if err != nil {
		t.Fatal(err)
	}
	return newWire(ctx, gcm, own, &to, 1234, 90000, audio, s.stats)
}

func listen(t testing.TB) *net.UDPConn {
	t.Helper()
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rx.Close() })
	return rx
}

// viewerSide opens what a wire sends, as the viewer would.
type viewerSide struct {
	open    *srtp.Context
	reports []*rtcp.SenderReport
}

func newViewerSide(t *testing.T) *viewerSide {
	open, err := srtp.CreateContext(testKeys.key, testKeys.salt, testKeys.profile)
	if err != nil {
		t.Fatal(err)
	}
	return &viewerSide{open: open}
}

// receive reads n RTP packets from rx, keeping the sender reports between.
func (v *viewerSide) receive(t *testing.T, rx *net.UDPConn, n int) []*rtp.Packet {
	t.Helper()
	var got []*rtp.Packet
	buf := make([]byte, 2000)
	for len(got) < n {
		_ = rx.SetReadDeadline(time.Now().Add(2 * time.Second))
		m, _, err := rx.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("after %d of %d packets: %v", len(got), n, err)
		}
		if isRTCP(buf[:m]) {
			plain, err := v.open.DecryptRTCP(nil, buf[:m], nil)
			if err != nil {
				t.Fatalf("RTCP does not open: %v", err)
			}
			pkts, err := rtcp.Unmarshal(plain)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range pkts {
				if sr, ok := p.(*rtcp.SenderReport); ok {
					v.reports = append(v.reports, sr)
				}
			}
			continue
		}
		plain, err := v.open.DecryptRTP(nil, buf[:m], nil)
		if err != nil {
			t.Fatalf("packet %d does not open: %v", len(got), err)
		}
		p := &rtp.Packet{}
		if err := p.Unmarshal(plain); err != nil {
			t.Fatal(err)
		}
		got = append(got, p)
	}
	return got
}

func frameHeader(seq uint16, ts uint32, marker bool) *rtp.Header {
	return &rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: ts, SSRC: 1234, Marker: marker}
}

// A frame sealed on the wire arrives whole, in order, and opens with the
// viewer's keys; nothing leaves before the flush; a NACKed packet is sent
// again as it was, one the ring no longer holds is not.
func TestWireSealsFramesAndAnswersNACKs(t *testing.T) {
	rx := listen(t)
	w, st := wireTo(t, rx, false)
	v := newViewerSide(t)
	now := time.Now().UnixNano()
	payloads := [][]byte{bytes.Repeat([]byte{1}, 1100), bytes.Repeat([]byte{2}, 1100), bytes.Repeat([]byte{3}, 1100), []byte("end of frame")}
	for i, p := range payloads {
		if _, err := w.seal(frameHeader(uint16(100+i), 3000, i == len(payloads)-1), nil, p, now); err != nil {
			t.Fatal(err)
		}
	}
	_ = rx.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, _, err := rx.ReadFromUDPAddrPort(make([]byte, 2000)); err != nil || n > 100 {
		t.Fatalf("before the flush: %d bytes, %v; want the first sender report alone", n, err)
	}
	w.flush()
	got := v.receive(t, rx, len(payloads))
	for i, p := range got {
		if p.SequenceNumber != uint16(100+i) || !bytes.Equal(p.Payload, payloads[i]) {
			t.Fatalf("packet %d: seq %d, %d bytes", i, p.SequenceNumber, len(p.Payload))
		}
	}
	if st.batches.Load() != 1 {
		t.Fatalf("%d segmented sends, want the frame in 1", st.batches.Load())
	}

	// NACK: 101 and 103 again; 999 was never sent.
	if n := w.resend([]uint16{101, 103, 999}, now); n != 2 {
		t.Fatalf("resent %d, want 2", n)
	}
	again := v.receive(t, rx, 2)
	if again[0].SequenceNumber != 101 || again[1].SequenceNumber != 103 || !bytes.Equal(again[1].Payload, payloads[3]) {
		t.Fatalf("resent %d and %d", again[0].SequenceNumber, again[1].SequenceNumber)
	}

	// Asked again at once, nothing goes (the repair may be on its way); a
	// repair interval later it does, up to maxRepairs times in all.
	if n := w.resend([]uint16{101, 103}, now+int64(time.Millisecond)); n != 0 {
		t.Fatalf("resent %d at once", n)
	}
	for i := 2; i <= maxRepairs+1; i++ {
		want := 2
		if i > maxRepairs {
			want = 0
		}
		if n := w.resend([]uint16{101, 103}, now+int64(i)*int64(repairGap)); n != want {
			t.Fatalf("repair %d: resent %d, want %d", i, n, want)
		}
	}
	v.receive(t, rx, 2*(maxRepairs-1))

	// A ring's worth later, 101 is gone.
	for i := range 2 * ringSize / 1200 {
		if _, err := w.seal(frameHeader(uint16(200+i), uint32(6000+i), true), nil, payloads[0], now); err != nil {
			t.Fatal(err)
		}
		w.flush()
	}
	if n := w.resend([]uint16{101}, now+int64(time.Second)); n != 0 {
		t.Fatalf("resent a packet the ring wrote over")
	}
}

// A viewer on the wire gets a sender report with its first packet, then
// about once a second, sealed with the track's keys, with the RTP time that
// matches its wall clock.
func TestWireSenderReports(t *testing.T) {
	rx := listen(t)
	w, _ := wireTo(t, rx, true)
	v := newViewerSide(t)
	w.clock = 48000
	start := time.Now().UnixNano()
	for i := range 150 { // 3 s of 20 ms packets
		at := start + int64(i)*int64(20*time.Millisecond)
		if _, err := w.seal(frameHeader(uint16(i), uint32(i*960), false), nil, []byte("opus"), at); err != nil {
			t.Fatal(err)
		}
		w.flush()
	}
	v.receive(t, rx, 150)
	if len(v.reports) < 3 || len(v.reports) > 4 {
		t.Fatalf("%d sender reports in 3 s", len(v.reports))
	}
	if first := v.reports[0]; first.SSRC != 1234 || first.PacketCount != 1 || first.RTPTime != 0 || first.NTPTime != ntpTime(time.Unix(0, start)) {
		t.Fatalf("first sender report %+v", first)
	}
	last := v.reports[len(v.reports)-1]
	if last.OctetCount != last.PacketCount*4 || last.RTPTime%960 != 0 {
		t.Fatalf("sender report %+v", last)
	}
}

// BenchmarkWire measures the whole write path of one packet to N viewers on
// the wire: the fan-out, rewriting, AES-GCM sealing and the segmented
// sendmsg to a loopback socket per viewer (which nobody reads: the kernel
// drops what overflows, after doing the sending). Frames of 8 packets, as at
// 2 Mbit/s and 30 fps.
func BenchmarkWire(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
			var st counters
			f := vp8Feed()
			u := &upstream{throttle: time.Hour, stats: &st}
			sock := sfuSocket(b) // all viewers through one socket, as the SFU's are
			for range n {
				rx := listen(b)
				_ = rx.SetReadBuffer(64 << 10)
				w := sock.wireTo(b, rx, false)
				d := newDownTrack("v", "s", f.kind, f.codec, 512, &st)
				d.out.Store(&binding{w: &sinkWriter{}, ssrc: 1234, pt: 96, clockRate: 90000})
				d.onWire.Store(w)
				d.ready.Store(true)
				f.add(d)
				b.Cleanup(d.close)
			}
			const perFrame = 8
			var frames framer
			seq, ts, sent := uint16(0), uint32(0), 0
			key, inter := vp8Packet(0, 0, true), vp8Packet(0, 0, false)
			push := func(keyframe bool) {
				for i := range perFrame {
					raw := inter
					if keyframe && i == 0 {
						raw = key
					}
					raw[1] &^= 0x80 // marker only on the frame's last packet
					if i == perFrame-1 {
						raw[1] |= 0x80
					}
					raw[2], raw[3] = byte(seq>>8), byte(seq)
					raw[4], raw[5], raw[6], raw[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
					frames.add(f, rtpPacket(f, u, 0, raw, false, false))
					seq++
					sent++
				}
				ts += 3000
			}
			wait := func() {
				want := uint64(sent) * uint64(n)
				for st.packetsOut.Load() < want && st.dropped.Load() == 0 {
					time.Sleep(10 * time.Microsecond)
				}
			}
			push(true)
			wait()
			st.packetsOut.Store(0)
			sent = 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += perFrame {
				push(false)
				// Each frame is sent before the next comes, as a live
				// source's are: writers that fell behind would send several
				// frames in one batch, which no viewer of a live stream gets.
				wait()
			}
			b.StopTimer()
			if d := st.dropped.Load(); d > 0 {
				b.Fatalf("%d packets dropped", d)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(sent)/float64(n), "ns/pkt/sub")
		})
	}
}

// A viewer's RTCP that opens with its key is handled by the socket's reader
// and never reaches pion (transport-cc feedback read in place, the rest of
// a compound by pion's parser); what is not its RTCP (STUN, a packet sealed
// with another key) is passed on.
func TestViewerRTCPIsTakenOnTheWire(t *testing.T) {
	t.Run("pion's context", func(t *testing.T) { testRTCPTaken(t, false) })
	t.Run("own opener", func(t *testing.T) { testRTCPTaken(t, true) })
}

func testRTCPTaken(t *testing.T, ownOpener bool) {
	uc := listen(t)
	var k corks
	c, err := newBatchConn(uc, &k, &counters{})
	if err != nil {
		t.Fatal(err)
	}
	viewer := listen(t)
	keys := srtpKeys{profile: testKeys.profile, remoteKey: bytes.Repeat([]byte{3}, 16), remoteSalt: bytes.Repeat([]byte{4}, 12)}
	open, err := keys.remoteContext()
	if err != nil {
		t.Fatal(err)
	}
	var gcm *srtcpOpener
	if ownOpener {
		if gcm, err = keys.remoteOpener(); err != nil || gcm == nil {
			t.Fatalf("opener: %v", err)
		}
	}
	got := make(chan rtcp.Packet, 4)
	var feedback []twccStatus
	k.get(viewer.LocalAddr().(*net.UDPAddr).AddrPort()).in.Store(newRTCPIn(open, gcm, func(pkts []rtcp.Packet) {
		for _, p := range pkts {
			got <- p
		}
	}, func(f *twccFeedback) { feedback = collect(f.statuses) }))
	fb := twccSamples()[0]
	twccRaw := marshalTWCC(fb)
	sealWith := func(key []byte, p rtcp.Packet) []byte {
		ctx, err := srtp.CreateContext(key, keys.remoteSalt, keys.profile)
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := p.Marshal()
		if bytes.Equal(key, keys.remoteKey) {
			plain = append(slices.Clone(twccRaw), plain...) // a compound: feedback, then the PLI
		}
		b, err := ctx.EncryptRTCP(nil, plain, nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	to := uc.LocalAddr().(*net.UDPAddr)
	stun := []byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	for _, b := range [][]byte{
		sealWith(keys.remoteKey, &rtcp.PictureLossIndication{MediaSSRC: 77}),
		stun,
		sealWith(bytes.Repeat([]byte{5}, 16), &rtcp.PictureLossIndication{MediaSSRC: 78}),
	} {
		if _, err := viewer.WriteToUDP(b, to); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 2000)
	_ = uc.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, _, err := c.ReadFromAddrPort(buf)
	if err != nil || !bytes.Equal(buf[:n], stun) {
		t.Fatalf("first packet passed on: %x %v; want the STUN message", buf[:n], err)
	}
	select {
	case p := <-got:
		if pli, ok := p.(*rtcp.PictureLossIndication); !ok || pli.MediaSSRC != 77 {
			t.Fatalf("handled %v", p)
		}
	default:
		t.Fatal("the viewer's PLI was not handled")
	}
	if want := collect(pionStatuses(fb)); len(feedback) != int(fb.PacketStatusCount) || !slices.Equal(feedback, want) {
		t.Fatalf("transport-cc feedback handled as %v, want %v", feedback, want)
	}
	n, _, err = c.ReadFromAddrPort(buf)
	if err != nil || !isRTCP(buf[:n]) {
		t.Fatalf("RTCP under another key: %x %v; want it passed on", buf[:n], err)
	}
	if len(got) != 0 {
		t.Fatal("RTCP under another key was handled")
	}
}

// A packet read back from the ring (to repair it over RTX) is the packet as
// it was sealed, before and after the sequence numbers wrap.
func TestWireReopensAcrossTheWrap(t *testing.T) {
	rx := listen(t)
	w, _ := wireTo(t, rx, false)
	now := time.Now().UnixNano()
	want := map[uint16][]byte{}
	for i := range 20 {
		seq := uint16(65526 + i)
		h := frameHeader(seq, uint32(i*3000), true)
		payload := []byte(fmt.Sprintf("packet %d", seq))
		if _, err := w.seal(h, nil, payload, now); err != nil {
			t.Fatal(err)
		}
		w.flush()
		want[seq], _ = (&rtp.Packet{Header: *h, Payload: payload}).Marshal()
	}
	for _, seq := range []uint16{65526, 65535, 0, 9} {
		got, ok := w.reopen(seq)
		if !ok || !bytes.Equal(got, want[seq]) {
			t.Fatalf("reopen(%d) = %q, %v", seq, got, ok)
		}
	}
	if _, ok := w.reopen(10); ok {
		t.Fatal("reopened a packet never sent")
	}
}

// Repairs take at most half of the viewer's estimated path, in bursts of up
// to 100 ms of it.
func TestRepairBudget(t *testing.T) {
	d := &downTrack{path: newPathEstimator(800_000, 100_000, 2_000_000)}
	now := time.Now().UnixNano()
	n := 0
	for d.mayRepair(1200, now) {
		n++
	}
	if n != 4 { // 100 ms of 400 kbit/s: 5,000 bytes
		t.Fatalf("%d repairs in a burst, want 4", n)
	}
	if !d.mayRepair(1200, now+int64(25*time.Millisecond)) { // 1,250 more
		t.Fatal("the budget did not refill")
	}
	if d.mayRepair(1200, now+int64(26*time.Millisecond)) {
		t.Fatal("repair over budget")
	}
}

// With AES-CM keys pion's context seals on the wire: frames, NACK answers
// and reading back across the wrap work the same.
func TestWireWithAESCM(t *testing.T) {
	saved := testKeys
	t.Cleanup(func() { testKeys = saved })
	testKeys = srtpKeys{profile: srtp.ProtectionProfileAes128CmHmacSha1_80, key: bytes.Repeat([]byte{7}, 16), salt: bytes.Repeat([]byte{9}, 14)}
	t.Run("frames and NACKs", TestWireSealsFramesAndAnswersNACKs)
	t.Run("across the wrap", TestWireReopensAcrossTheWrap)
}
