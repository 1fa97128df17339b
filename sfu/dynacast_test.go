package sfu

import (
	"testing"
	"time"
)

// A layer none may take is paused after pauseAfter, and active again as
// soon as one may; the lowest never pauses.
func TestLayerDemand(t *testing.T) {
	var d layerDemand
	d.reset(3)
	now := time.Now()
	onlyLow := [maxLayers]bool{true, false, false}
	if d.update(onlyLow, now) || d.update(onlyLow, now.Add(pauseAfter-time.Millisecond)) {
		t.Fatal("paused before pauseAfter")
	}
	if !d.update(onlyLow, now.Add(pauseAfter)) || d.active != [maxLayers]bool{true, false, false} {
		t.Fatalf("after pauseAfter: %v", d.active)
	}
	if !d.update([maxLayers]bool{true, true, false}, now.Add(pauseAfter+time.Second)) || d.active != [maxLayers]bool{true, true, false} {
		t.Fatalf("mid wanted again: %v", d.active)
	}
}

// A track's pin or cap bounds the layers it may go up to; with none on the
// feed, only the lowest is wanted.
func TestFeedWanted(t *testing.T) {
	f := vp8Feed()
	if w := f.wanted(); w != [maxLayers]bool{true, false, false} {
		t.Fatalf("no viewer: %v", w)
	}
	var st counters
	d := newBoundDownTrack(t, f, &sinkWriter{}, 16, &st)
	d.limit.Store(1)
	if w := f.wanted(); w != [maxLayers]bool{true, true, false} {
		t.Fatalf("a viewer capped at mid: %v", w)
	}
	d.limit.Store(maxLayers - 1)
	if w := f.wanted(); w != [maxLayers]bool{true, true, true} {
		t.Fatalf("a viewer free to go up: %v", w)
	}
}
