package sfu

import "time"

// Pausing at the publisher what no viewer can take (dynacast).
//
// A layer no viewer is on is neither forwarded nor asked for keyframes
// (feed.go), but the publisher still encodes and uploads it. A simulcast
// publisher's session therefore reports, by RID, which layers its viewers
// can take now: the lowest always (a new viewer starts on it), a higher one
// while some viewer or tap of the video may go up to it (its pin or cap
// allows it; a viewer without either may take any). A layer none may take
// for pauseAfter is reported paused; once one may, it is reported active at
// once, and the viewers' allocators go up to it when it arrives again. The
// studio pauses a paused layer's encoding (RTCRtpSender encodings' active);
// a publisher that does not listen (OBS) keeps sending what is not
// forwarded.

const (
	pauseAfter = 5 * time.Second
	layerCheck = time.Second
)

// OnLayers sets f to be told, on each change, which of a simulcast
// publisher's layers (by RID) its viewers can take now.
func (s *Session) OnLayers(f func(active map[string]bool)) { s.onLayers.Store(&f) }

// wanted tells which layers some track on the feed may go up to.
func (f *feed) wanted() (w [maxLayers]bool) {
	w[0] = true
	for l := range f.layers {
		for _, d := range *f.layers[l].subs.Load() {
			for up := int32(1); up <= d.limit.Load() && up < maxLayers; up++ {
				w[up] = true
			}
		}
	}
	return w
}

// watchLayers reports the layers the publisher's viewers can take, until
// its session ends.
func (p *publisher) watchLayers() {
	select {
	case <-p.ready:
	case <-p.sess.done:
		return
	}
	t := time.NewTicker(layerCheck)
	defer t.Stop()
	var d layerDemand
	d.reset(len(p.rids))
	for {
		select {
		case <-p.sess.done:
			return
		case now := <-t.C:
			if !d.update(p.slot.video.wanted(), now) {
				continue
			}
			if f := p.sess.onLayers.Load(); f != nil {
				active := map[string]bool{}
				for l, rid := range p.rids {
					active[rid] = d.active[l]
				}
				(*f)(active)
			}
		}
	}
}

// layerDemand is the paused-or-active state of a publisher's layers.
type layerDemand struct {
	n        int
	active   [maxLayers]bool
	unwanted [maxLayers]time.Time // since when none may take it; zero: some may
}

func (d *layerDemand) reset(n int) {
	d.n = min(n, maxLayers)
	for l := range d.active {
		d.active[l] = true
	}
}

// update takes which layers are wanted now; true when a layer changed.
func (d *layerDemand) update(want [maxLayers]bool, now time.Time) bool {
	changed := false
	for l := range d.n {
		switch {
		case want[l]:
			d.unwanted[l] = time.Time{}
			if !d.active[l] {
				d.active[l], changed = true, true
			}
		case d.unwanted[l].IsZero():
			d.unwanted[l] = now
		case d.active[l] && now.Sub(d.unwanted[l]) >= pauseAfter:
			d.active[l], changed = false, true
		}
	}
	return changed
}
