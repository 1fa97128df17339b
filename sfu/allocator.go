package sfu

import (
	"sync"
	"sync/atomic"
	"time"
)

// Choosing each viewer's layers.
//
// An allocator runs per peer: every allocTick it measures each simulcast
// layer's bitrate (what the publisher sends of it), divides the peer's
// bandwidth estimate (send-side GCC over the viewer's transport-wide
// congestion control feedback) among its video tracks, and gives each the
// highest active layer that fits its share. It goes down at once when the
// layer on air no longer fits, and up only when the higher layer has fitted
// for upHold in a row: an estimate grows only with what is sent, so when the
// next layer does not fit it probes first, padding the track up to that
// layer's rate for probeFor; if the path carries it, the estimate grows and
// the next ticks move the track up; when the estimator also reports the
// path's loss and delay trend, a probe carried cleanly for upHold ticks is
// enough. A layer a viewer pinned is kept (when
// its publisher sends it); a cap bounds the choice. Without an estimate (a
// tap) every track gets the highest active layer.

const (
	allocTick = 500 * time.Millisecond
	upHold    = 2                        // ticks a higher layer must fit before the move
	headroom  = 0.9                      // an upgrade must fit in this share of the budget
	probeFor  = 3 * time.Second          // how long a probe pads
	overshoot = 1.1                      // a probe pads this much above the next layer's rate
	provenFor = 10 * time.Second         // how long a proven layer waits for the estimate to catch up
	probeGap  = 5 * time.Second          // at least this between probes, and after a move down
	audioCost = 64_000                   // bits/s kept for each audio track's Opus
	rateAlpha = 0.5                      // weight of the newest sample in a layer's bitrate
	minProbe  = 20_000                   // bits/s below which a probe is not worth its packets
	padAlpha  = float64(allocTick) / 1e9 // seconds per tick
)

// estimator is what an allocator reads of a congestion controller.
type estimator interface {
	GetTargetBitrate() int
}

// pathReporter is an estimator that also tells how the path fares lately
// (pion's GCC: "averageLoss", and "usage" of the delay detector); with it,
// a probe that the path carries cleanly is enough to move up, without
// waiting for the estimate to grow to the next layer.
type pathReporter interface {
	GetStats() map[string]any
}

// congested reads a path report: loss over 2 % or a growing delay.
func congested(stats map[string]any) bool {
	loss, _ := stats["averageLoss"].(float64)
	usage, _ := stats["usage"].(string)
	return loss > 0.02 || usage == "overuse"
}

// allocTrack is one video track and what its allocator knows of it.
type allocTrack struct {
	d   *downTrack
	pin atomic.Int32 // a layer the viewer chose; -1: the allocator's
	cap atomic.Int32 // the highest layer the viewer takes

	// owned by the allocator's loop
	feed    *feed
	prev    [maxLayers]uint64
	rate    [maxLayers]float64 // bits/s
	fits    int                // ticks the next layer up has fitted
	downAt  time.Time
	probeTo time.Time
	clean   int       // ticks of the probe the path carried without congestion
	proven  time.Time // until then a layer a clean probe proved is kept unless the path congests
	calm    time.Time // until then the loss a failed probe caused does not move the track down
}

// allocator chooses the layers of one peer's video tracks.
type allocator struct {
	tracks []*allocTrack
	audio  int // audio tracks, each costing audioCost of the budget
	est    atomic.Pointer[estimator]
	stop   chan struct{}
	now    chan struct{} // a choice to apply without waiting for the tick
	once   sync.Once
	// probes counts the probes started, for tests and metrics.
	probes atomic.Int64
}

// newAllocator makes the allocator of video tracks (a nil track holds a
// place: a pair without video) and audio audio tracks.
func newAllocator(video []*downTrack, audio int) *allocator {
	a := &allocator{audio: audio, stop: make(chan struct{}), now: make(chan struct{}, 1)}
	for _, d := range video {
		t := &allocTrack{d: d}
		t.pin.Store(-1)
		t.cap.Store(maxLayers - 1)
		a.tracks = append(a.tracks, t)
	}
	return a
}

func (a *allocator) setEstimator(e estimator) { a.est.Store(&e) }

// run chooses layers every allocTick until close.
func (a *allocator) run() {
	t := time.NewTicker(allocTick)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case now := <-t.C:
			a.tick(now)
		case <-a.now:
			a.tick(time.Now())
		}
	}
}

// kick has the loop choose again at once (a viewer pinned a layer).
func (a *allocator) kick() {
	select {
	case a.now <- struct{}{}:
	default:
	}
}

func (a *allocator) close() { a.once.Do(func() { close(a.stop) }) }

// tick measures the layers and moves the tracks.
func (a *allocator) tick(now time.Time) {
	var live []*allocTrack
	for _, t := range a.tracks {
		if t.d != nil && t.measure(now) {
			live = append(live, t)
		}
	}
	if len(live) == 0 {
		return
	}
	budget := -1.0 // no limit
	health := pathUnknown
	if e := a.est.Load(); e != nil {
		budget = max(float64((*e).GetTargetBitrate()-a.audio*audioCost), 0) / float64(len(live))
		if r, ok := (*e).(pathReporter); ok {
			health = pathClear
			if congested(r.GetStats()) {
				health = pathCongested
			}
		}
	}
	for _, t := range live {
		if a.choose(t, budget, health, now) {
			a.probes.Add(1)
		}
	}
}

// measure samples the bitrate of each layer of t's feed; false when the
// track shows nothing.
func (t *allocTrack) measure(now time.Time) bool {
	f := t.d.feed.Load()
	if f == nil {
		t.feed = nil
		return false
	}
	if f != t.feed { // a new feed: start counting again
		t.feed, t.rate, t.fits = f, [maxLayers]float64{}, 0
		for l := range t.prev {
			t.prev[l] = f.layers[l].bytes.Load()
		}
		return true
	}
	for l := range t.prev {
		b := f.layers[l].bytes.Load()
		r := float64(b-t.prev[l]) * 8 / allocTick.Seconds()
		t.prev[l] = b
		if t.rate[l] == 0 {
			t.rate[l] = r
		} else {
			t.rate[l] = rateAlpha*r + (1-rateAlpha)*t.rate[l]
		}
	}
	return true
}

// What an allocator knows of a path's congestion.
type pathHealth int

const (
	pathUnknown pathHealth = iota
	pathClear
	pathCongested
)

// choose moves t toward the layer that fits budget (bits/s; negative: no
// limit), given the path's health; it reports whether it started a probe.
func (a *allocator) choose(t *allocTrack, budget float64, health pathHealth, now time.Time) (probed bool) {
	f := t.feed
	nowNS := now.UnixNano()
	active := func(l int32) bool { return f.layers[l].active(nowNS) }
	limit := min(t.cap.Load(), maxLayers-1)
	if pin := t.pin.Load(); pin >= 0 {
		t.d.setLayer(min(pin, limit))
		return false
	}
	best := int32(-1) // the highest active layer within the cap
	for l := limit; l >= 0; l-- {
		if active(l) {
			best = l
			break
		}
	}
	if best < 0 {
		return false // nothing arrives yet
	}
	if budget < 0 {
		t.d.setLayer(best)
		return false
	}
	cur := t.d.target.Load()
	if cur > best || !active(cur) {
		cur = best
	}
	// Down: the highest active layer that fits, or the lowest there is.
	fit := int32(-1)
	for l := cur; l >= 0; l-- {
		if active(l) && t.rate[l] <= budget {
			fit = l
			break
		}
	}
	if fit < 0 {
		for l := range cur + 1 {
			if active(l) {
				fit = l
				break
			}
		}
	}
	if fit < cur && now.Before(t.proven) && health == pathClear {
		// A probe proved this layer; the estimate grows toward it.
		t.d.setLayer(cur)
		return false
	}
	if fit < cur && now.Before(t.calm) && t.rate[cur] <= 2*budget {
		// The loss is the failed probe's own: the layer fitted before it.
		t.d.setLayer(cur)
		return false
	}
	if fit < cur {
		t.fits, t.downAt, t.probeTo, t.proven = 0, now, time.Time{}, time.Time{}
		t.d.padOwed.Store(0)
		t.d.setLayer(fit)
		return false
	}
	// Up: the next active layer, once it has fitted for upHold ticks.
	next := int32(-1)
	for l := cur + 1; l <= best; l++ {
		if active(l) {
			next = l
			break
		}
	}
	if next < 0 {
		t.fits = 0
		t.d.setLayer(cur)
		return false
	}
	if t.rate[next] <= budget*headroom {
		t.fits++
		if t.fits >= upHold {
			t.fits, t.probeTo = 0, time.Time{}
			t.d.padOwed.Store(0)
			t.d.setLayer(next)
			return false
		}
		t.d.setLayer(cur)
		return false
	}
	t.fits = 0
	t.d.setLayer(cur)
	// Probe: pad up to the next layer's rate, so the estimate can grow
	// to it if the path carries it.
	if now.Before(t.probeTo) {
		// A probe the path carries cleanly (its padding going out, no loss,
		// no growing delay) for upHold ticks is the proof to move up.
		owed := float64(t.d.padOwed.Load())
		switch {
		case health == pathCongested:
			t.probeTo, t.downAt, t.clean, t.calm = time.Time{}, now, 0, now.Add(probeGap)
			t.d.padOwed.Store(0)
			return false
		case health == pathClear && owed < (t.rate[next]-t.rate[cur])*padAlpha/8:
			t.clean++
		}
		if t.clean >= upHold {
			t.probeTo, t.clean, t.proven = time.Time{}, 0, now.Add(provenFor)
			t.d.padOwed.Store(0)
			t.d.setLayer(next)
			return false
		}
		t.d.pad((overshoot*t.rate[next] - t.rate[cur]) * padAlpha / 8)
		return false
	}
	if now.Sub(t.downAt) < probeGap || now.Sub(t.probeTo) < probeGap || t.rate[next]-t.rate[cur] < minProbe {
		return false
	}
	t.probeTo, t.clean = now.Add(probeFor), 0
	t.d.pad((overshoot*t.rate[next] - t.rate[cur]) * padAlpha / 8)
	return true
}
