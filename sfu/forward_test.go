package sfu

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/onair-live/onair/internal/keyframe"
)

// sinkWriter is a TrackLocalWriter that records what a subscriber would be sent.
type sinkWriter struct {
	n     atomic.Int64
	block chan struct{} // when set, every write waits on it (a stuck subscriber)
	mu    sync.Mutex
	seqs  []uint16
	tss   []uint32
	keep  bool
}

func (w *sinkWriter) WriteRTP(h *rtp.Header, p []byte) (int, error) {
	if w.block != nil {
		<-w.block
	}
	if w.keep {
		w.mu.Lock()
		w.seqs = append(w.seqs, h.SequenceNumber)
		w.tss = append(w.tss, h.Timestamp)
		w.mu.Unlock()
	}
	w.n.Add(1)
	return h.MarshalSize() + len(p), nil
}

func (w *sinkWriter) Write(b []byte) (int, error) { return len(b), nil }

func newBoundDownTrack(t testing.TB, f *feed, w *sinkWriter, queue int, st *counters) *downTrack {
	d := newDownTrack("v", "s", f.kind, f.codec, queue, st)
	d.out.Store(&binding{w: w, ssrc: 1234, pt: 96, clockRate: f.codec.ClockRate})
	d.ready.Store(true)
	f.add(d)
	t.Cleanup(d.close)
	return d
}

// vp8Packet is a marshalled RTP packet carrying a VP8 frame start.
func vp8Packet(seq uint16, ts uint32, key bool) []byte {
	payload := make([]byte, 1000)
	payload[0] = 0x10                                             // S bit, partition 0
	copy(payload[1:], []byte{0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a}) // frame tag, start code
	if !key {
		payload[1] |= 0x01 // P bit: inter frame
	}
	b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: ts, SSRC: 42, Marker: true}, Payload: payload}).Marshal()
	return b
}

// rtpPacket parses raw into a pooled packet of layer l from u, as the
// publisher's reader does; kept marks it received on its layer (bitrate,
// last arrival, and the GOP when gop).
func rtpPacket(f *feed, u *upstream, l int, raw []byte, kept, gop bool) *packet {
	p := getPacket()
	n := copy(p.buf[:], raw)
	hl, _ := p.hdr.Unmarshal(p.buf[:n])
	p.payload = p.buf[hl:n]
	p.keyframe = keyframe.Is(f.codec.MimeType, p.payload)
	p.src, p.layer = u, uint8(l)
	if kept {
		now := time.Now().UnixNano()
		f.layers[l].bytes.Add(uint64(len(p.payload)))
		f.layers[l].last.Store(now)
		if gop {
			f.layers[l].gop.add(p, now)
		}
	}
	return p
}

// inject feeds raw packets through the ingest path as the publisher's reader does.
func inject(f *feed, u *upstream, raw []byte) {
	p := rtpPacket(f, u, 0, raw, false, false)
	f.forward(p)
	p.release()
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func vp8Feed() *feed {
	c, _ := capability(webrtc.MimeTypeVP8)
	return newFeed(webrtc.RTPCodecTypeVideo, c)
}

func TestStuckSubscriberDoesNotBlockOthers(t *testing.T) {
	var st counters
	f := vp8Feed()
	u := &upstream{throttle: time.Hour, stats: &st}
	stuck := &sinkWriter{block: make(chan struct{})}
	defer close(stuck.block)
	newBoundDownTrack(t, f, stuck, 16, &st)
	var healthy []*sinkWriter
	for range 3 {
		w := &sinkWriter{keep: true}
		newBoundDownTrack(t, f, w, 1024, &st)
		healthy = append(healthy, w)
	}
	const n = 500
	for i := range n {
		inject(f, u, vp8Packet(uint16(i), uint32(i)*3000, i == 0))
	}
	for _, w := range healthy {
		eventually(t, "healthy subscribers to get every packet", func() bool { return w.n.Load() == n })
		for i, s := range w.seqs {
			if s != uint16(i) {
				t.Fatalf("healthy subscriber saw seq %d at %d", s, i)
			}
		}
	}
	if st.dropped.Load() < n-20 {
		t.Fatalf("stuck subscriber's drops = %d, want about %d", st.dropped.Load(), n-16)
	}
}

func TestNewSubscriberWaitsForKeyframe(t *testing.T) {
	var st counters
	f := vp8Feed()
	u := &upstream{throttle: time.Hour, stats: &st}
	w := &sinkWriter{keep: true}
	newBoundDownTrack(t, f, w, 64, &st)
	for i := range 10 {
		inject(f, u, vp8Packet(uint16(100+i), uint32(i)*3000, i == 5))
	}
	eventually(t, "packets from the keyframe on", func() bool { return w.n.Load() == 5 })
	if w.seqs[0] != 105 {
		t.Fatalf("first forwarded seq = %d, want the keyframe's 105", w.seqs[0])
	}
}

func TestRepublishKeepsSequenceContinuous(t *testing.T) {
	var st counters
	f := vp8Feed()
	w := &sinkWriter{keep: true}
	newBoundDownTrack(t, f, w, 256, &st)
	first := &upstream{throttle: time.Hour, stats: &st}
	for i := range 50 {
		inject(f, first, vp8Packet(uint16(60000+i), uint32(i)*3000, i == 0))
	}
	eventually(t, "first publisher's packets", func() bool { return w.n.Load() == 50 })
	// The republished stream restarts its numbering and begins with inter frames.
	second := &upstream{throttle: time.Hour, stats: &st}
	for i := range 50 {
		inject(f, second, vp8Packet(uint16(7+i), uint32(900000+i*3000), i == 3))
	}
	eventually(t, "second publisher's packets from its keyframe", func() bool { return w.n.Load() == 97 })
	for i := 1; i < len(w.seqs); i++ {
		if w.seqs[i] != w.seqs[i-1]+1 {
			t.Fatalf("gap between %d and %d at %d", w.seqs[i-1], w.seqs[i], i)
		}
	}
}

// BenchmarkForward measures the fan-out of one packet to N subscribers: queueing,
// rewriting and the hand-off to the writer (SRTP and sendto are pion's and the
// kernel's, measured end to end by onairctl).
func BenchmarkForward(b *testing.B) {
	for _, n := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
			var st counters
			f := vp8Feed()
			u := &upstream{throttle: time.Hour, stats: &st}
			writers := make([]*sinkWriter, n)
			for i := range writers {
				writers[i] = &sinkWriter{}
				newBoundDownTrack(b, f, writers[i], 512, &st)
			}
			raw := vp8Packet(0, 0, true)
			inject(f, u, raw) // start every subscriber at a keyframe
			var sent int64 = 1
			wait := func() {
				for _, w := range writers {
					for w.n.Load() < sent {
						time.Sleep(10 * time.Microsecond)
					}
				}
			}
			wait()
			pkt := vp8Packet(0, 0, false)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				pkt[2], pkt[3] = byte(sent>>8), byte(sent)
				inject(f, u, pkt)
				sent++
				if sent%256 == 0 {
					wait() // keep queues from overflowing: measure delivery, not drops
				}
			}
			wait()
			b.StopTimer()
			if d := st.dropped.Load(); d > 0 {
				b.Fatalf("%d packets dropped", d)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/pkt/sub")
		})
	}
}
