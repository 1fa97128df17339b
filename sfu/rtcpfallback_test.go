package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
)

// Without transport-cc feedback a viewer's REMB sets its estimate; once the
// viewer sends transport-cc, REMB no longer does.
func TestREMBSteersOnlyWithoutTWCC(t *testing.T) {
	e := newPathEstimator(1_000_000, 100_000, 5_000_000)
	now := time.Now()
	e.remb(400_000, now)
	if got := e.GetTargetBitrate(); got != 400_000 {
		t.Fatalf("after REMB 400k: %d", got)
	}
	e.feedback(0, pionStatuses(&rtcp.TransportLayerCC{}), now)
	e.remb(3_000_000, now.Add(time.Second))
	if got := e.GetTargetBitrate(); got == 3_000_000 {
		t.Fatal("REMB overrode transport-cc")
	}
	e.remb(3_000_000, now.Add(fallbackAfter+time.Second))
	if got := e.GetTargetBitrate(); got != 3_000_000 {
		t.Fatalf("REMB after transport-cc stopped: %d", got)
	}
}

// Without transport-cc, receiver reports' loss steers the estimate as GCC's
// loss-based rule does, at most once per loss interval.
func TestReportedLossSteersWithoutTWCC(t *testing.T) {
	e := newPathEstimator(1_000_000, 100_000, 5_000_000)
	now := time.Now()
	e.reportedLoss(77, now) // 30 %
	if got := e.GetTargetBitrate(); got < 840_000 || got > 860_000 {
		t.Fatalf("after 30%% loss: %d, want 850k", got)
	}
	e.reportedLoss(200, now.Add(100*time.Millisecond))
	if got := e.GetTargetBitrate(); got < 840_000 || got > 860_000 {
		t.Fatalf("a second report within the interval moved it: %d", got)
	}
	e.reportedLoss(0, now.Add(lossInterval+time.Millisecond))
	if got := e.GetTargetBitrate(); got < 885_000 || got > 900_000 {
		t.Fatalf("after a clean report: %d, want 5%% more", got)
	}
}

// The round trip from a receiver report block: now less the sender report's
// time and the viewer's hold.
func TestRTTOfReport(t *testing.T) {
	now := time.Now()
	lsr := uint32(ntpTime(now.Add(-150*time.Millisecond)) >> 16)
	rtt, ok := rttOf(rtcp.ReceptionReport{LastSenderReport: lsr, Delay: 50 * 65536 / 1000}, now)
	if !ok || rtt < 98*time.Millisecond || rtt > 102*time.Millisecond {
		t.Fatalf("rtt %v %v, want 100 ms", rtt, ok)
	}
	if _, ok := rttOf(rtcp.ReceptionReport{}, now); ok {
		t.Fatal("a block that answers no sender report gave a round trip")
	}
	if _, ok := rttOf(rtcp.ReceptionReport{LastSenderReport: lsr, Delay: 10 * 65536}, now); ok {
		t.Fatal("a hold longer than the round trip gave one")
	}
	if gapFor(0) != int64(repairGap) || gapFor(time.Millisecond) != int64(minRepairGap) || gapFor(90*time.Millisecond) != int64(100*time.Millisecond) {
		t.Fatal("repair gaps")
	}
}

// A NACK that packs thousands of sequence numbers is cut to maxNacked.
func TestNackedSeqsAreBounded(t *testing.T) {
	p := &rtcp.TransportLayerNack{}
	for i := range 2000 {
		p.Nacks = append(p.Nacks, rtcp.NackPair{PacketID: uint16(i * 17), LostPackets: 0xffff})
	}
	if got := nackedSeqs(p); len(got) != maxNacked || got[0] != 0 || got[1] != 1 {
		t.Fatalf("%d sequence numbers from a flood, starting %v", len(got), got[:2])
	}
	small := &rtcp.TransportLayerNack{Nacks: []rtcp.NackPair{{PacketID: 10, LostPackets: 0b101}}}
	if got := nackedSeqs(small); len(got) != 3 || got[0] != 10 || got[1] != 11 || got[2] != 13 {
		t.Fatalf("nacked %v, want [10 11 13]", got)
	}
}
