package boardtest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/onair-live/onair/economy/board"
)

// A credit's ID counts once within the window, and again after it; credits
// without an ID always count.
func idsCountOnce(t *testing.T, newStore Factory) {
	e := open(t, newStore, t0, board.Config{DedupWindow: 10 * time.Minute})
	withID := func(id string, amount int64) board.Credit {
		c := credit("u1", amount, amount)
		c.ID, c.At = id, e.clock.Now()
		return c
	}
	e.add(withID("ev1", 5))
	e.add(withID("ev1", 5)) // redelivered
	e.want(roomAll("r1"), "u1", 5)
	e.add(withID("ev2", 5))
	e.add(withID("", 1))
	e.add(withID("", 1))
	for _, b := range allBoards()[:4] {
		e.want(b, "u1", 12)
	}
	e.want(streamersAll, "s1", 12)

	e.clock.Advance(10*time.Minute - time.Millisecond)
	e.add(withID("ev1", 5))
	e.want(roomAll("r1"), "u1", 12)
	e.clock.Advance(time.Millisecond) // ev1 is forgotten now
	e.add(withID("ev1", 5))
	e.want(roomAll("r1"), "u1", 17)
}

// 16 goroutines deliver the same 40 events: each counts once.
func idsConcurrent(t *testing.T, newStore Factory) {
	noLeak(t)
	e := open(t, newStore, t0, board.Config{})
	const workers, events = 16, 40
	c := ctx(t)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range events {
				cr := credit("racer", int64(i+1), 1)
				cr.ID = fmt.Sprintf("ev%d", i)
				if err := e.s.Add(c, cr); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	e.want(roomAll("r1"), "racer", events*(events+1)/2)
	e.want(streamersAll, "s1", events)
}

// After a rebuild, replaying the feed from a point within the window counts
// nothing twice: the rebuilt store matches the live one.
func rebuildThenReplay(t *testing.T, newStore Factory) {
	const window = 10 * time.Minute
	cfg := board.Config{DedupWindow: window}
	cs := randomCredits(8, 300, t0, 30*time.Minute)
	for i := range cs {
		cs[i].ID = fmt.Sprintf("ev%03d", i)
	}
	live := feedLive(t, newStore, cs, cfg, t0)
	reb := rebuilt(t, newStore, cs, cfg, t0)
	replayed := 0
	for _, c := range cs {
		if c.At.After(t0.Add(-window)) {
			reb.add(c)
			replayed++
		}
	}
	if replayed < 50 {
		t.Fatalf("only %d credits replayed; the test wants many", replayed)
	}
	same(t, reb, live, boardsOf(t, cs, "UTC"))
	wantAllTime(reb, cs)
}
