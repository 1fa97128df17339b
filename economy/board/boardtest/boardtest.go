package boardtest

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // the suite's zones, whatever the machine has installed

	"github.com/onair-live/onair/economy/board"
)

// Factory returns a fresh, empty store built with cfg; it registers its own
// cleanup on tb and fails tb if it cannot.
type Factory func(tb testing.TB, cfg board.Config) board.Store

// Run runs the whole contract suite.
func Run(t *testing.T, newStore Factory) {
	cases := []struct {
		name string
		f    func(t *testing.T, newStore Factory)
	}{
		{"EveryBoard", everyBoard},
		{"TopAndRank", topAndRank},
		{"TiesByID", tiesByID},
		{"DayRollover", dayRollover},
		{"WeekRollover", weekRollover},
		{"UTCByDefault", utcByDefault},
		{"LateCreditCountsByItsTime", lateCredit},
		{"Expiry", expiry},
		{"ScoreLimit", scoreLimit},
		{"ConcurrentAddsAreExactAndAtomic", concurrent},
		{"BroadcastBoardLivesPastItsLatestCredit", broadcastRun},
		{"RebuildEqualsLiveFeed", rebuildEqualsLive},
		{"RebuildEqualsLiveFeedAcrossDST", rebuildAcrossDST},
		{"RebuildIsIdempotentAndClears", rebuildIdempotent},
		{"RebuildFailureKeepsOldBoards", rebuildFailure},
		{"IDsCountOnceWithinTheWindow", idsCountOnce},
		{"ConcurrentDeliveriesOfAnIDCountOnce", idsConcurrent},
		{"RebuildThenReplayCountsNothingTwice", rebuildThenReplay},
		{"BadInput", badInput},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.f(t, newStore) })
	}
}

// Clock is a manual clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// t0 is a Wednesday noon, UTC: 2030-01-02, ISO week 2030-W01.
var t0 = time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)

// env is one store under test, its clock and the test.
type env struct {
	t     *testing.T
	s     board.Store
	clock *Clock
}

// open builds a store with cfg on a clock at start.
func open(t *testing.T, newStore Factory, start time.Time, cfg board.Config) *env {
	t.Helper()
	clock := NewClock(start)
	cfg.Now = clock.Now
	return &env{t: t, s: newStore(t, cfg), clock: clock}
}

// ctx returns the test's context with a guard timeout.
func ctx(tb testing.TB) context.Context {
	c, cancel := context.WithTimeout(tb.Context(), 60*time.Second)
	tb.Cleanup(cancel)
	return c
}

// cancelled returns a context that is already cancelled.
func cancelled() context.Context {
	c, cancel := context.WithCancel(context.Background())
	cancel()
	return c
}

func (e *env) add(c board.Credit) {
	e.t.Helper()
	if err := e.s.Add(ctx(e.t), c); err != nil {
		e.t.Fatalf("Add(%+v): %v", c, err)
	}
}

func (e *env) top(b board.Board, n int) []board.Entry {
	e.t.Helper()
	es, err := e.s.Top(ctx(e.t), b, n)
	if err != nil {
		e.t.Fatalf("Top(%+v, %d): %v", b, n, err)
	}
	return es
}

func (e *env) rank(b board.Board, id string) (board.Entry, bool) {
	e.t.Helper()
	en, ok, err := e.s.Rank(ctx(e.t), b, id)
	if err != nil {
		e.t.Fatalf("Rank(%+v, %s): %v", b, id, err)
	}
	return en, ok
}

// want checks a whole board (up to MaxTop entries) and every entry's Rank,
// given entries as id, score pairs in the order expected.
func (e *env) want(b board.Board, pairs ...any) {
	e.t.Helper()
	e.wantEntries(b, entries(pairs...))
}

// wantEntries checks a whole board and every entry's Rank.
func (e *env) wantEntries(b board.Board, want []board.Entry) {
	e.t.Helper()
	got := e.top(b, board.MaxTop)
	if !equal(got, want) {
		e.t.Fatalf("%v board %+v:\n got %v\nwant %v", b.Kind, b, got, want)
	}
	for _, w := range want {
		if en, ok := e.rank(b, w.ID); !ok || en != w {
			e.t.Fatalf("Rank(%+v, %s) = %+v, %v; want %+v", b, w.ID, en, ok, w)
		}
	}
}

// entries turns id, score pairs into entries ranked in order.
func entries(pairs ...any) []board.Entry {
	out := make([]board.Entry, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		var score int64
		switch v := pairs[i+1].(type) {
		case int:
			score = int64(v)
		case int64:
			score = v
		default:
			panic("boardtest: a score must be an int or int64")
		}
		out = append(out, board.Entry{ID: pairs[i].(string), Score: score, Rank: len(out) + 1})
	}
	return out
}

func equal(a, b []board.Entry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Boards of a credit-shaped scope, for brevity in the cases.
func broadcastOf(room, bc string) board.Board {
	return board.Board{Kind: board.RoomBroadcast, Room: room, Broadcast: bc}
}
func roomDay(room string, at time.Time) board.Board {
	return board.Board{Kind: board.RoomDay, Room: room, At: at}
}
func roomWeek(room string, at time.Time) board.Board {
	return board.Board{Kind: board.RoomWeek, Room: room, At: at}
}
func roomAll(room string) board.Board { return board.Board{Kind: board.RoomAllTime, Room: room} }
func streamersDay(at time.Time) board.Board {
	return board.Board{Kind: board.StreamersDay, At: at}
}
func streamersWeek(at time.Time) board.Board {
	return board.Board{Kind: board.StreamersWeek, At: at}
}

var streamersAll = board.Board{Kind: board.StreamersAllTime}

// noLeak fails the test if a goroutine started by this package outlives it.
func noLeak(t *testing.T) {
	t.Cleanup(func() {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			if !strings.Contains(string(buf), "created by github.com/onair-live/onair/economy/board/boardtest.") {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("goroutines started by the suite outlived it:\n%s", buf)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}
