package boardtest

import (
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/onair-live/onair/economy/board"
)

// randomCredits makes n credits in rooms r1..r3 from 20 users, spread over
// span before end. A room's broadcast is named after the day it is on, so no
// broadcast lasts longer than its retention; some streamers are co-hosts.
func randomCredits(seed uint64, n int, end time.Time, span time.Duration) []board.Credit {
	r := rand.New(rand.NewPCG(seed, 42))
	out := make([]board.Credit, n)
	for i := range out {
		room := fmt.Sprintf("r%d", 1+r.IntN(3))
		at := end.Add(-time.Duration(r.Int64N(int64(span)))).Truncate(time.Millisecond)
		streamer := "s-" + room
		if r.IntN(4) == 0 {
			streamer = fmt.Sprintf("s-guest%d", r.IntN(3))
		}
		amount := 1 + r.Int64N(1000)
		out[i] = board.Credit{
			Room:      room,
			Broadcast: "b" + at.Format("20060102"),
			User:      fmt.Sprintf("u%02d", r.IntN(20)),
			Streamer:  streamer,
			Amount:    amount,
			Earned:    r.Int64N(amount + 1), // sometimes 0
			At:        at,
		}
	}
	return out
}

// boardsOf lists every board the credits could land on, once each.
func boardsOf(t *testing.T, cs []board.Credit, zone string) []board.Board {
	cal, err := board.NewCalendar(board.Config{TimeZone: zone})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[board.Key]bool{}
	var out []board.Board
	for _, c := range cs {
		for _, b := range []board.Board{broadcastOf(c.Room, c.Broadcast), roomDay(c.Room, c.At),
			roomWeek(c.Room, c.At), roomAll(c.Room), streamersDay(c.At), streamersWeek(c.At), streamersAll} {
			k, _, err := cal.Locate(b, c.At)
			if err != nil {
				t.Fatal(err)
			}
			if !seen[k] {
				seen[k] = true
				out = append(out, b)
			}
		}
	}
	return out
}

// same checks that two stores hold the same boards, and returns how many of
// them are not empty.
func same(t *testing.T, got, want *env, boards []board.Board) int {
	t.Helper()
	full := 0
	for _, b := range boards {
		w := want.top(b, board.MaxTop)
		if len(w) > 0 {
			full++
		}
		got.wantEntries(b, w)
	}
	return full
}

// wantAllTime checks the all-time boards against sums made here, from the credits alone.
func wantAllTime(e *env, cs []board.Credit) {
	e.t.Helper()
	rooms := map[string]map[string]int64{}
	streamers := map[string]int64{}
	for _, c := range cs {
		if rooms[c.Room] == nil {
			rooms[c.Room] = map[string]int64{}
		}
		rooms[c.Room][c.User] += c.Amount
		if c.Earned > 0 {
			streamers[c.Streamer] += c.Earned
		}
	}
	ranked := func(m map[string]int64) []board.Entry {
		var es []board.Entry
		for id, s := range m {
			es = append(es, board.Entry{ID: id, Score: s})
		}
		slices.SortFunc(es, board.Compare)
		for i := range es {
			es[i].Rank = i + 1
		}
		return es
	}
	for room, users := range rooms {
		e.wantEntries(roomAll(room), ranked(users))
	}
	e.wantEntries(streamersAll, ranked(streamers))
}

// feedLive adds credits in At order to a new store whose clock follows them,
// then sets its clock to end.
func feedLive(t *testing.T, newStore Factory, cs []board.Credit, cfg board.Config, end time.Time) *env {
	t.Helper()
	cs = slices.Clone(cs)
	slices.SortStableFunc(cs, func(a, b board.Credit) int { return a.At.Compare(b.At) })
	e := open(t, newStore, cs[0].At, cfg)
	for _, c := range cs {
		e.clock.Set(c.At)
		e.add(c)
	}
	e.clock.Set(end)
	return e
}

// rebuilt returns a new store on a clock at now, rebuilt from cs.
func rebuilt(t *testing.T, newStore Factory, cs []board.Credit, cfg board.Config, now time.Time) *env {
	t.Helper()
	e := open(t, newStore, now, cfg)
	if err := e.s.Rebuild(ctx(t), board.Credits(cs)); err != nil {
		t.Fatalf("Rebuild: %v", err)
	}
	return e
}

// A store fed credits live, its clock following them, ends with the boards
// that a rebuild from the same credits gives at the end: here 20 days of
// credits in Shanghai, so that many boards have expired, given to Rebuild
// shuffled (no broadcast has a gap as long as its retention, so the order does
// not matter).
func rebuildEqualsLive(t *testing.T, newStore Factory) {
	liveVsRebuild(t, newStore, "Asia/Shanghai", t0, 20*24*time.Hour, true)
}

// The same over ten days in Berlin that end on the day clocks go forward.
func rebuildAcrossDST(t *testing.T, newStore Factory) {
	liveVsRebuild(t, newStore, "Europe/Berlin", time.Date(2030, 3, 31, 12, 0, 0, 0, time.UTC), 10*24*time.Hour, false)
}

// liveVsRebuild feeds 600 random credits over span before end to one store
// live, and to another through Rebuild at end, and compares every board.
func liveVsRebuild(t *testing.T, newStore Factory, zone string, end time.Time, span time.Duration, shuffle bool) {
	cfg := board.Config{TimeZone: zone}
	cs := randomCredits(uint64(end.Unix()), 600, end, span)
	live := feedLive(t, newStore, cs, cfg, end)
	given := slices.Clone(cs)
	if shuffle {
		rand.New(rand.NewPCG(7, 7)).Shuffle(len(given), func(i, j int) { given[i], given[j] = given[j], given[i] })
	}
	reb := rebuilt(t, newStore, given, cfg, end)
	boards := boardsOf(t, cs, zone)
	if full := same(t, reb, live, boards); full < 20 || full == len(boards) {
		t.Fatalf("%d of %d boards hold entries: the credits should fill many and leave some expired", full, len(boards))
	}
	wantAllTime(live, cs)
	wantAllTime(reb, cs)
}

// A broadcast board lives BroadcastRetention past its latest credit, so it
// keeps credits older than that while the broadcast goes on, live and rebuilt
// alike; after a gap that long it restarts.
func broadcastRun(t *testing.T, newStore Factory) {
	cfg := board.Config{BroadcastRetention: time.Hour}
	bc := broadcastOf("r1", "b1")
	live := open(t, newStore, t0, cfg)
	var cs []board.Credit
	for i, step := range []time.Duration{0, 50 * time.Minute, 100 * time.Minute} {
		live.clock.Set(t0.Add(step))
		live.creditNow(fmt.Sprintf("u%d", i+1), "s1", int64(1)<<i)
		cs = append(cs, board.Credit{Room: "r1", Broadcast: "b1", User: fmt.Sprintf("u%d", i+1), Streamer: "s1",
			Amount: int64(1) << i, Earned: int64(1) << i, At: t0.Add(step)})
	}
	at := t0.Add(159 * time.Minute)
	live.clock.Set(at)
	live.want(bc, "u3", 4, "u2", 2, "u1", 1)
	rebuilt(t, newStore, cs, cfg, at).want(bc, "u3", 4, "u2", 2, "u1", 1)

	at = t0.Add(160 * time.Minute) // an hour after the latest credit
	live.clock.Set(at)
	live.want(bc)
	rebuilt(t, newStore, cs, cfg, at).want(bc)
	live.creditNow("u4", "s1", 8)
	cs = append(cs, board.Credit{Room: "r1", Broadcast: "b1", User: "u4", Streamer: "s1", Amount: 8, Earned: 8, At: at})
	live.want(bc, "u4", 8)
	rebuilt(t, newStore, cs, cfg, at).want(bc, "u4", 8)
	live.want(roomAll("r1"), "u4", 8, "u3", 4, "u2", 2, "u1", 1)
}

func rebuildIdempotent(t *testing.T, newStore Factory) {
	first := randomCredits(3, 200, t0, 3*24*time.Hour)
	for i := range first[:20] {
		first[i].Room = "r9" // a room the second set never mentions
	}
	second := randomCredits(4, 200, t0, 3*24*time.Hour)
	a, ref := open(t, newStore, t0, board.Config{}), open(t, newStore, t0, board.Config{})
	for _, c := range first {
		a.add(c)
	}
	for _, c := range second {
		ref.add(c)
	}
	boards := boardsOf(t, append(slices.Clone(first), second...), "UTC")
	for range 2 {
		if err := a.s.Rebuild(ctx(t), board.Credits(second)); err != nil {
			t.Fatal(err)
		}
		same(t, a, ref, boards)
		a.want(roomAll("r9"))
	}
	// Adds after a rebuild land on the rebuilt boards.
	extra := credit("late", 1, 1)
	a.add(extra)
	ref.add(extra)
	same(t, a, ref, boards)

	if err := a.s.Rebuild(ctx(t), board.Credits(nil)); err != nil {
		t.Fatal(err)
	}
	for _, b := range boards {
		a.want(b)
	}
}

var errSource = errors.New("boardtest: the ledger went away")

// A rebuild that fails half-way leaves the boards as they were.
func rebuildFailure(t *testing.T, newStore Factory) {
	cs := randomCredits(5, 100, t0, 2*24*time.Hour)
	e, ref := open(t, newStore, t0, board.Config{}), open(t, newStore, t0, board.Config{})
	for _, c := range cs {
		e.add(c)
		ref.add(c)
	}
	boards := boardsOf(t, cs, "UTC")
	other := randomCredits(6, 100, t0, 2*24*time.Hour)
	failing := func(yield func(board.Credit, error) bool) {
		for _, c := range other {
			if !yield(c, nil) {
				return
			}
		}
		yield(board.Credit{}, errSource)
	}
	withBad := slices.Clone(other)
	withBad[50].Amount = 0
	withHuge := slices.Clone(other)
	withHuge[10].Amount, withHuge[60].Amount = board.MaxScore, 1
	withHuge[60].Room, withHuge[60].User = withHuge[10].Room, withHuge[10].User
	for _, c := range []struct {
		name    string
		credits iter.Seq2[board.Credit, error]
		want    error
	}{
		{"an error from the source", failing, errSource},
		{"a bad credit", board.Credits(withBad), board.ErrBadCredit},
		{"a score past 2^53", board.Credits(withHuge), board.ErrScoreLimit},
	} {
		if err := e.s.Rebuild(ctx(t), c.credits); !errors.Is(err, c.want) {
			t.Fatalf("Rebuild with %s: %v, want %v", c.name, err, c.want)
		}
		same(t, e, ref, boards)
	}
	c := credit("after", 2, 2)
	e.add(c)
	ref.add(c)
	same(t, e, ref, boards)
}
