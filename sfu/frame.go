package sfu

import (
	"sync"
	"sync/atomic"
)

// frame is what a viewer's writer is handed at once: the packets of one video
// frame as they arrived (one audio packet is a frame of its own). A writer
// wakes once per frame rather than per packet and sends the frame's packets
// to its viewer together. A frame is whole, for the viewer's decoder, only
// when its last packet is there, so holding the first ones back until then
// delays the frame by nothing more than its last packet's own hold-up; a
// frame whose marker is lost waits for the next frame's first packet.
type frame struct {
	pkts []*packet // one layer's, in arrival order; the frame holds a reference to each
	refs atomic.Int32
}

// maxFrame bounds the packets handed over as one frame: a larger keyframe
// goes in several.
const maxFrame = 32

var framePool = sync.Pool{New: func() any { return &frame{pkts: make([]*packet, 0, maxFrame)} }}

func getFrame() *frame {
	fr := framePool.Get().(*frame)
	fr.refs.Store(1)
	return fr
}

func (fr *frame) release() {
	if fr.refs.Add(-1) != 0 {
		return
	}
	for i, p := range fr.pkts {
		p.release()
		fr.pkts[i] = nil
	}
	fr.pkts = fr.pkts[:0]
	framePool.Put(fr)
}

// framer gathers one upstream's video packets into frames: a frame ends at
// its marker bit, when the next frame's timestamp shows up (the marker was
// lost), or when it is full.
type framer struct{ fr *frame }

// add takes p (and its reference) into the current frame, handing frames
// that are done to f.
func (a *framer) add(f *feed, p *packet) {
	if a.fr != nil && (a.fr.pkts[0].hdr.Timestamp != p.hdr.Timestamp || len(a.fr.pkts) == maxFrame) {
		a.flush(f)
	}
	if a.fr == nil {
		a.fr = getFrame()
	}
	a.fr.pkts = append(a.fr.pkts, p)
	if p.hdr.Marker {
		a.flush(f)
	}
}

// flush hands the frame gathered so far to f.
func (a *framer) flush(f *feed) {
	if a.fr == nil {
		return
	}
	f.forwardFrame(a.fr)
	a.fr.release()
	a.fr = nil
}
