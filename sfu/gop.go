package sfu

import (
	"sync"
	"time"
)

// Instant start.
//
// A viewer that joins mid-GOP would wait for the next keyframe: a PLI asks
// the publisher for one at once, but publishers that keep a fixed GOP (OBS,
// hardware encoders, files) answer with their next scheduled one, seconds
// away. So each video layer keeps its current GOP (the packets from its
// latest keyframe on, up to maxGOPBytes), and a viewer's track starts by
// sending it: the keyframe and the frames that depend on it, so the decoder
// has every reference, with their timestamps one tick apart ending where
// the live stream goes on. The decoder shows the latest picture at once (the
// replayed frames are due together) and the stream continues from there
// without a freeze or a jump in timing. A GOP over the cap, or one that has
// gone stale (the layer stopped), is not replayed: the track waits for a
// keyframe as before.

// maxGOPBytes and maxGOPPackets cap a layer's kept GOP (2.4 s of 2 Mbit/s,
// sent in half a second): a replay must fit in what the NACK responder
// keeps (1,024 packets), or a packet lost from it could not be sent again.
const (
	maxGOPBytes   = 600 << 10
	maxGOPPackets = 512
)

// staleGOP: a GOP whose newest packet is older than this is not replayed.
const staleGOP = 500 * time.Millisecond

// gop is a layer's packets since its latest keyframe.
type gop struct {
	mu    sync.Mutex
	pkts  []*packet
	bytes int
	full  bool  // over the cap since its keyframe: kept no more until the next
	last  int64 // when its newest packet arrived (unix ns)
}

// add keeps p (taking a reference) when it belongs to the current GOP;
// a keyframe's first packet starts a new one.
func (g *gop) add(p *packet, now int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if p.keyframe && (len(g.pkts) == 0 || g.pkts[0].hdr.Timestamp != p.hdr.Timestamp || g.pkts[0].src != p.src) {
		g.resetLocked()
	} else if len(g.pkts) == 0 || g.full {
		return // no keyframe yet, or over the cap
	}
	if g.bytes+len(p.payload) > maxGOPBytes || len(g.pkts) >= maxGOPPackets {
		g.resetLocked()
		g.full = true
		return
	}
	p.refs.Add(1)
	g.pkts = append(g.pkts, p)
	g.bytes += len(p.payload)
	g.last = now
}

func (g *gop) resetLocked() {
	for _, p := range g.pkts {
		p.release()
	}
	clear(g.pkts)
	g.pkts, g.bytes, g.full = g.pkts[:0], 0, false
}

func (g *gop) reset() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.resetLocked()
}

// snapshot returns the GOP's packets, each with a reference the caller
// releases; nil when there is none fresh enough to replay.
func (g *gop) snapshot(now int64) []*packet {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.pkts) == 0 || g.full || now-g.last > int64(staleGOP) {
		return nil
	}
	out := make([]*packet, len(g.pkts))
	for i, p := range g.pkts {
		p.refs.Add(1)
		out[i] = p
	}
	return out
}

// follows reports whether p can follow a replay of the GOP: one is kept,
// fresh, from p's upstream, and p is not older than its start.
func (g *gop) follows(p *packet, now int64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.pkts) > 0 && !g.full && now-g.last <= int64(staleGOP) && g.pkts[0].src == p.src &&
		!seqNewer(g.pkts[0].hdr.SequenceNumber, p.hdr.SequenceNumber)
}
