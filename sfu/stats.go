package sfu

import "sync/atomic"

// counters are cumulative media-plane totals, read by the metrics exporter.
type counters struct {
	packetsIn, bytesIn   atomic.Uint64
	packetsOut, bytesOut atomic.Uint64
	dropped              atomic.Uint64 // packets a subscriber's full queue refused
	plis                 atomic.Uint64 // keyframe requests sent to publishers
	nacks                atomic.Uint64 // NACK packets received from subscribers
	keyframeReqs         atomic.Uint64 // PLI/FIR received from subscribers
	padding              atomic.Uint64 // bytes of padding sent to probe viewers' paths
	switches             atomic.Uint64 // simulcast layer switches made
	replays              atomic.Uint64 // viewers started from a kept GOP
	batches              atomic.Uint64 // segmented sends (several packets in one system call)
	retransmits          atomic.Uint64 // packets sent again on the wire for viewers' NACKs
	onWire               atomic.Int64  // viewers' tracks on the SFU's own write path now
}

// Stats is a snapshot of the media plane for metrics and tests.
type Stats struct {
	Rooms, Publishers, Subscribers int
	PacketsIn, BytesIn             uint64
	PacketsOut, BytesOut           uint64
	Dropped, PLIs, NACKs           uint64
	KeyframeRequests               uint64
	PaddingBytes, LayerSwitches    uint64
	GOPReplays, Batches            uint64
	Retransmits                    uint64
	TracksOnWire                   int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		PacketsIn: c.packetsIn.Load(), BytesIn: c.bytesIn.Load(),
		PacketsOut: c.packetsOut.Load(), BytesOut: c.bytesOut.Load(),
		Dropped: c.dropped.Load(), PLIs: c.plis.Load(), NACKs: c.nacks.Load(),
		KeyframeRequests: c.keyframeReqs.Load(),
		PaddingBytes:     c.padding.Load(), LayerSwitches: c.switches.Load(),
		GOPReplays: c.replays.Load(), Batches: c.batches.Load(),
		Retransmits: c.retransmits.Load(), TracksOnWire: c.onWire.Load(),
	}
}
