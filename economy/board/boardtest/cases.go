package boardtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/onair-live/onair/economy/board"
)

// credit is a credit in room r1, broadcast b1, to streamer s1, at t0.
func credit(user string, amount, earned int64) board.Credit {
	return board.Credit{Room: "r1", Broadcast: "b1", User: user, Streamer: "s1", Amount: amount, Earned: earned, At: t0}
}

// allBoards are the seven boards a credit from credit() lands on, read at t0.
func allBoards() []board.Board {
	return []board.Board{broadcastOf("r1", "b1"), roomDay("r1", t0), roomWeek("r1", t0), roomAll("r1"),
		streamersDay(t0), streamersWeek(t0), streamersAll}
}

func everyBoard(t *testing.T, newStore Factory) {
	e := open(t, newStore, t0, board.Config{})
	e.add(credit("u1", 10, 7))
	for _, b := range allBoards()[:4] {
		e.want(b, "u1", 10)
	}
	for _, b := range allBoards()[4:] {
		e.want(b, "s1", 7)
	}
	// Any instant of the period names it; At zero is the current one.
	e.want(roomDay("r1", t0.Add(-11*time.Hour)), "u1", 10)
	e.want(roomWeek("r1", t0.AddDate(0, 0, 4)), "u1", 10)
	e.want(board.Board{Kind: board.RoomDay, Room: "r1"}, "u1", 10)
	e.want(board.Board{Kind: board.RoomWeek, Room: "r1"}, "u1", 10)
	e.want(board.Board{Kind: board.StreamersDay}, "s1", 7)
	e.want(board.Board{Kind: board.StreamersWeek}, "s1", 7)

	// Nothing lands elsewhere.
	for _, b := range []board.Board{broadcastOf("r1", "b2"), broadcastOf("r2", "b1"), roomDay("r2", t0),
		roomWeek("r2", t0), roomAll("r2"), roomDay("r1", t0.AddDate(0, 0, 1)), roomWeek("r1", t0.AddDate(0, 0, 7)),
		streamersDay(t0.AddDate(0, 0, -1)), streamersWeek(t0.AddDate(0, 0, -7))} {
		e.want(b)
	}

	// No earnings: the streamer boards are left alone. No broadcast: nor is a broadcast board.
	e.add(credit("u2", 5, 0))
	e.want(streamersAll, "s1", 7)
	c := credit("u3", 4, 2)
	c.Broadcast = ""
	e.add(c)
	e.want(broadcastOf("r1", "b1"), "u1", 10, "u2", 5)
	e.want(roomAll("r1"), "u1", 10, "u2", 5, "u3", 4)
	e.want(streamersAll, "s1", 9)
}

func topAndRank(t *testing.T, newStore Factory) {
	e := open(t, newStore, t0, board.Config{})
	for _, c := range []struct {
		user   string
		amount int64
	}{{"u1", 5}, {"u2", 30}, {"u3", 1}, {"u1", 40}, {"u4", 20}, {"u3", 2}} {
		e.add(credit(c.user, c.amount, c.amount))
	}
	want := entries("u1", 45, "u2", 30, "u4", 20, "u3", 3)
	all := roomAll("r1")
	e.want(all, "u1", 45, "u2", 30, "u4", 20, "u3", 3)
	for n := 1; n <= len(want)+2; n++ {
		if got := e.top(all, n); !equal(got, want[:min(n, len(want))]) {
			t.Fatalf("Top(%d) = %v, want %v", n, got, want[:min(n, len(want))])
		}
	}
	if en, ok := e.rank(all, "nobody"); ok {
		t.Fatalf("Rank of a user not on the board: %+v, true", en)
	}
	if en, ok := e.rank(roomAll("r2"), "u1"); ok {
		t.Fatalf("Rank on an empty board: %+v, true", en)
	}
	e.want(streamersAll, "s1", 98)
}

// Equal scores are ordered by ID in byte order, whatever order they came in.
func tiesByID(t *testing.T, newStore Factory) {
	e := open(t, newStore, t0, board.Config{})
	for _, u := range []string{"u3", "u10", "U9", "u1", "u2", "ü"} {
		e.add(credit(u, 5, 5))
	}
	all := roomAll("r1")
	e.want(all, "U9", 5, "u1", 5, "u10", 5, "u2", 5, "u3", 5, "ü", 5)
	e.add(credit("u3", 1, 0)) // u3 passes the others
	e.add(credit("u2", 1, 0)) // u2 ties with u3 again, and comes first
	e.want(all, "u2", 6, "u3", 6, "U9", 5, "u1", 5, "u10", 5, "ü", 5)

	for _, s := range []string{"s9", "s10"} {
		c := credit("u1", 1, 3)
		c.Streamer = s
		e.add(c)
	}
	e.want(streamersAll, "s1", 30, "s10", 3, "s9", 3)
}

func scoreLimit(t *testing.T, newStore Factory) {
	e := open(t, newStore, t0, board.Config{})
	e.add(credit("u1", board.MaxScore, board.MaxScore))
	e.add(credit("u2", board.MaxScore-1, 0))
	e.add(credit("u3", board.MaxScore-2, 0))
	e.add(credit("u3", 1, 0))
	all := roomAll("r1")
	e.want(all, "u1", board.MaxScore, "u2", board.MaxScore-1, "u3", board.MaxScore-1)

	// One board is full: the whole credit is refused, even on boards with room.
	next := credit("u1", 1, 0)
	next.At = t0.AddDate(0, 0, 7)
	next.Broadcast = "b2"
	e.clock.Set(next.At)
	if err := e.s.Add(ctx(t), next); !errors.Is(err, board.ErrScoreLimit) {
		t.Fatalf("Add past 2^53: %v, want ErrScoreLimit", err)
	}
	e.want(roomDay("r1", next.At))
	e.want(roomWeek("r1", next.At))
	e.want(broadcastOf("r1", "b2"))
	// Likewise when only a streamer board is full.
	next = credit("u9", 1, 1)
	next.At = e.clock.Now()
	if err := e.s.Add(ctx(t), next); !errors.Is(err, board.ErrScoreLimit) {
		t.Fatalf("Add past 2^53 on the streamers' board: %v, want ErrScoreLimit", err)
	}
	e.want(roomDay("r1", next.At))
	e.want(roomAll("r1"), "u1", board.MaxScore, "u2", board.MaxScore-1, "u3", board.MaxScore-1)
	// A credit that fits still goes in.
	e.add(credit("u2", 1, 0))
	e.want(all, "u1", board.MaxScore, "u2", board.MaxScore, "u3", board.MaxScore-1)
}

// 16 goroutines add at once: every total is exact, and readers never see a
// credit on some of its boards and not yet on others.
func concurrent(t *testing.T, newStore Factory) {
	noLeak(t)
	e := open(t, newStore, t0, board.Config{})
	const workers, each = 16, 60
	c := ctx(t)
	var (
		adders, readers sync.WaitGroup
		done            = make(chan struct{})
		errs            = make(chan error, workers+4)
	)
	// Every credit lands equally on the four room boards, and the streamer's
	// earnings equal the room's total, so a board read after another may
	// never show less than it did.
	pairs := [][2]board.Board{
		{broadcastOf("r1", "b1"), roomAll("r1")},
		{roomAll("r1"), broadcastOf("r1", "b1")},
		{roomDay("r1", t0), roomWeek("r1", t0)},
		{roomWeek("r1", t0), roomDay("r1", t0)},
	}
	for _, p := range pairs {
		readers.Add(1)
		go func() {
			defer readers.Done()
			errs <- readMonotone(c, e.s, p[0], p[1], done)
		}()
	}
	readers.Add(1)
	go func() {
		defer readers.Done()
		errs <- readRoomVsStreamer(c, e.s, done)
	}()
	for w := range workers {
		adders.Add(1)
		go func() {
			defer adders.Done()
			for i := range each {
				for _, u := range []string{fmt.Sprintf("u%02d", w), "shared"} {
					amt := int64(w*each + i + 1)
					if err := e.s.Add(c, credit(u, amt, amt)); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	adders.Wait()
	close(done)
	readers.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var total, shared int64
	want := map[string]int64{}
	for w := range workers {
		for i := range each {
			amt := int64(w*each + i + 1)
			want[fmt.Sprintf("u%02d", w)] += amt
			shared += amt
		}
	}
	total = 2 * shared
	for _, b := range allBoards()[:4] {
		for u, score := range want {
			if en, ok := e.rank(b, u); !ok || en.Score != score {
				t.Fatalf("%v: %s has %+v, %v; want score %d", b.Kind, u, en, ok, score)
			}
		}
		if en, ok := e.rank(b, "shared"); !ok || en.Score != shared || en.Rank != 1 {
			t.Fatalf("%v: shared has %+v, %v; want score %d at rank 1", b.Kind, en, ok, shared)
		}
		if n := len(e.top(b, board.MaxTop)); n != workers+1 {
			t.Fatalf("%v has %d entries, want %d", b.Kind, n, workers+1)
		}
	}
	for _, b := range allBoards()[4:] {
		e.want(b, "s1", total)
	}
}

// readPause spaces the readers' checks so that, on few cores and under the
// race detector, they do not starve the writers they watch.
const readPause = 200 * time.Microsecond

// readMonotone reads id "shared" on first, then on second, until done: with
// atomic credits, second never shows less than first did.
func readMonotone(ctx context.Context, s board.Store, first, second board.Board, done <-chan struct{}) error {
	for {
		select {
		case <-done:
			return nil
		case <-time.After(readPause):
		}
		a, _, err := s.Rank(ctx, first, "shared")
		if err != nil {
			return err
		}
		b, _, err := s.Rank(ctx, second, "shared")
		if err != nil {
			return err
		}
		if b.Score < a.Score {
			return fmt.Errorf("half-applied credit seen: %v showed %d, then %v showed %d", first.Kind, a.Score, second.Kind, b.Score)
		}
	}
}

// readRoomVsStreamer checks that the room's total (one Top) and the
// streamer's earnings (one Rank), read in turn, never contradict.
func readRoomVsStreamer(ctx context.Context, s board.Store, done <-chan struct{}) error {
	sum := func() (int64, error) {
		es, err := s.Top(ctx, roomAll("r1"), board.MaxTop)
		var n int64
		for _, e := range es {
			n += e.Score
		}
		return n, err
	}
	earned := func() (int64, error) {
		e, _, err := s.Rank(ctx, streamersAll, "s1")
		return e.Score, err
	}
	for i := 0; ; i++ {
		select {
		case <-done:
			return nil
		case <-time.After(readPause):
		}
		first, second, order := sum, earned, "room total, then streamer"
		if i%2 == 1 {
			first, second, order = earned, sum, "streamer, then room total"
		}
		a, err := first()
		if err != nil {
			return err
		}
		b, err := second()
		if err != nil {
			return err
		}
		if b < a {
			return fmt.Errorf("half-applied credit seen reading %s: %d then %d", order, a, b)
		}
	}
}

func badInput(t *testing.T, newStore Factory) {
	e := open(t, newStore, t0, board.Config{})
	c := ctx(t)
	long := string(make([]byte, 129))
	for name, mod := range map[string]func(*board.Credit){
		"empty room":        func(c *board.Credit) { c.Room = "" },
		"room with colon":   func(c *board.Credit) { c.Room = "r:1" },
		"room too long":     func(c *board.Credit) { c.Room = long },
		"broadcast colon":   func(c *board.Credit) { c.Broadcast = "b:1" },
		"empty user":        func(c *board.Credit) { c.User = "" },
		"user with space":   func(c *board.Credit) { c.User = "u 1" },
		"user with newline": func(c *board.Credit) { c.User = "u\n1" },
		"empty streamer":    func(c *board.Credit) { c.Streamer = "" },
		"zero amount":       func(c *board.Credit) { c.Amount = 0 },
		"negative amount":   func(c *board.Credit) { c.Amount = -5 },
		"amount past 2^53":  func(c *board.Credit) { c.Amount = board.MaxScore + 1 },
		"negative earned":   func(c *board.Credit) { c.Earned = -1 },
		"earned past 2^53":  func(c *board.Credit) { c.Earned = board.MaxScore + 1 },
		"zero time":         func(c *board.Credit) { c.At = time.Time{} },
		"streamer too long": func(c *board.Credit) { c.Streamer = long },
		"user control char": func(c *board.Credit) { c.User = "u\x7f" },
		"id with space":     func(c *board.Credit) { c.ID = "ev 1" },
		"id too long":       func(c *board.Credit) { c.ID = long },
		"user with colon":   func(c *board.Credit) { c.User = "u:1" },
	} {
		cr := credit("u1", 5, 5)
		mod(&cr)
		if err := e.s.Add(c, cr); !errors.Is(err, board.ErrBadCredit) {
			t.Errorf("Add with %s: %v, want ErrBadCredit", name, err)
		}
	}
	for _, b := range allBoards() {
		e.want(b) // nothing went in
	}
	for name, b := range map[string]board.Board{
		"no kind":                 {Room: "r1"},
		"unknown kind":            {Kind: 99, Room: "r1"},
		"room board, no room":     {Kind: board.RoomAllTime},
		"room with colon":         {Kind: board.RoomDay, Room: "r1:d"},
		"broadcast, no broadcast": {Kind: board.RoomBroadcast, Room: "r1"},
		"day with a broadcast":    {Kind: board.RoomDay, Room: "r1", Broadcast: "b1"},
		"streamers with a room":   {Kind: board.StreamersAllTime, Room: "r1"},
	} {
		if _, err := e.s.Top(c, b, 10); !errors.Is(err, board.ErrBadBoard) {
			t.Errorf("Top of %s: %v, want ErrBadBoard", name, err)
		}
		if _, _, err := e.s.Rank(c, b, "u1"); !errors.Is(err, board.ErrBadBoard) {
			t.Errorf("Rank on %s: %v, want ErrBadBoard", name, err)
		}
	}
	for _, n := range []int{0, -1, board.MaxTop + 1} {
		if _, err := e.s.Top(c, roomAll("r1"), n); !errors.Is(err, board.ErrBadBoard) {
			t.Errorf("Top(%d): %v, want ErrBadBoard", n, err)
		}
	}
	for _, id := range []string{"", "a b", "a:b"} {
		if _, _, err := e.s.Rank(c, roomAll("r1"), id); !errors.Is(err, board.ErrBadBoard) {
			t.Errorf("Rank(%q): %v, want ErrBadBoard", id, err)
		}
	}

	gone := cancelled()
	if err := e.s.Add(gone, credit("u1", 1, 1)); !errors.Is(err, context.Canceled) {
		t.Errorf("Add with a cancelled ctx: %v, want context.Canceled", err)
	}
	if _, err := e.s.Top(gone, roomAll("r1"), 10); !errors.Is(err, context.Canceled) {
		t.Errorf("Top with a cancelled ctx: %v, want context.Canceled", err)
	}
	if _, _, err := e.s.Rank(gone, roomAll("r1"), "u1"); !errors.Is(err, context.Canceled) {
		t.Errorf("Rank with a cancelled ctx: %v, want context.Canceled", err)
	}
	if err := e.s.Rebuild(gone, board.Credits([]board.Credit{credit("u1", 1, 1)})); !errors.Is(err, context.Canceled) {
		t.Errorf("Rebuild with a cancelled ctx: %v, want context.Canceled", err)
	}
	for _, b := range allBoards() {
		e.want(b)
	}
}
