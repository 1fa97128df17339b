package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// pathSim sends packets through a pathEstimator and reports them back as a
// viewer's transport-cc feedback would, with a delay and losses the test
// chooses per packet.
type pathSim struct {
	e    *pathEstimator
	t0   time.Time
	sent int64 // ns since t0 of the next packet
}

// round sends n packets of size bytes, every gap, and reports them: delay(i)
// is packet i's one-way delay, or negative for a lost one.
func (s *pathSim) round(n, size int, gap time.Duration, delay func(i int) time.Duration) {
	type rec struct {
		seq uint16
		arr int64
	}
	var recs []rec
	for i := range n {
		at := s.t0.UnixNano() + s.sent
		seq := s.e.sent(size, at)
		d := delay(i)
		arr := int64(-1)
		if d >= 0 {
			arr = s.sent + int64(d)
		}
		recs = append(recs, rec{seq, arr})
		s.sent += int64(gap)
	}
	ref := int64(0)
	for _, r := range recs {
		if r.arr >= 0 {
			ref = r.arr / int64(64*time.Millisecond) * int64(64*time.Millisecond)
			break
		}
	}
	fb := &rtcp.TransportLayerCC{BaseSequenceNumber: recs[0].seq, PacketStatusCount: uint16(len(recs)), ReferenceTime: uint32(ref / int64(64*time.Millisecond))}
	last := ref
	for _, r := range recs {
		if r.arr < 0 {
			fb.PacketChunks = append(fb.PacketChunks, &rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketNotReceived, RunLength: 1})
			continue
		}
		d := (r.arr - last) / 250_000 * 250 // µs, in the format's 250 µs steps
		last += d * 1000
		fb.PacketChunks = append(fb.PacketChunks, &rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedLargeDelta, RunLength: 1})
		fb.RecvDeltas = append(fb.RecvDeltas, &rtcp.RecvDelta{Type: rtcp.TypeTCCPacketReceivedLargeDelta, Delta: d})
	}
	// Through the wire's own reader of the packet as it would be sent.
	f, err := parseTWCC(marshalTWCC(fb))
	if err != nil {
		panic(err)
	}
	s.e.feedback(f.ref, f.statuses, s.t0.Add(time.Duration(s.sent)))
}

// 1200-byte packets every 10 ms: about 1 Mbit/s.
const simSize, simGap = 1200, 10 * time.Millisecond

func TestPathEstimateGrowsOnACleanPath(t *testing.T) {
	s := &pathSim{e: newPathEstimator(500_000, minBitrate, 20_000_000), t0: time.Now()}
	for range 50 { // 5 s
		s.round(10, simSize, simGap, func(int) time.Duration { return 20 * time.Millisecond })
	}
	st := s.e.GetStats()
	if r := s.e.GetTargetBitrate(); r <= 500_000 || r > 1_600_000 || st["usage"] != "normal" || st["averageLoss"].(float64) != 0 {
		t.Fatalf("clean path: %d bit/s, %v; want grown from 500k, at most 1.5x the 0.96 Mbit/s acknowledged", r, st)
	}
}

func TestPathEstimateFallsWhenTheQueueGrows(t *testing.T) {
	s := &pathSim{e: newPathEstimator(3_000_000, minBitrate, 20_000_000), t0: time.Now()}
	queue := time.Duration(0)
	for range 30 { // the path drains 800 kbit/s of the 960 sent: the queue grows
		s.round(10, simSize, simGap, func(int) time.Duration {
			queue += simGap / 5
			return 20*time.Millisecond + queue
		})
	}
	if st := s.e.GetStats(); st["usage"] != "overuse" {
		t.Fatalf("growing queue read as %v", st)
	}
	if r := s.e.GetTargetBitrate(); r >= 1_000_000 {
		t.Fatalf("growing queue: %d bit/s, want under the 0.96 Mbit/s sent", r)
	}
}

func TestPathEstimateFallsWithLoss(t *testing.T) {
	s := &pathSim{e: newPathEstimator(2_000_000, minBitrate, 20_000_000), t0: time.Now()}
	for range 20 {
		s.round(10, simSize, simGap, func(i int) time.Duration {
			if i%4 == 0 {
				return -1 // 25 % lost
			}
			return 20 * time.Millisecond
		})
	}
	st := s.e.GetStats()
	if l := st["averageLoss"].(float64); l < 0.15 || s.e.GetTargetBitrate() >= 1_000_000 {
		t.Fatalf("25%% loss: loss %.2f, %d bit/s", l, s.e.GetTargetBitrate())
	}
}

// Numbering and feedback allocate nothing per packet.
func BenchmarkPathEstimatorSent(b *testing.B) {
	e := newPathEstimator(1_000_000, minBitrate, 20_000_000)
	b.ReportAllocs()
	now := time.Now().UnixNano()
	for i := 0; i < b.N; i++ {
		e.sent(1200, now+int64(i))
	}
}
