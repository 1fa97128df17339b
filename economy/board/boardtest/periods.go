package boardtest

import (
	"testing"
	"time"

	"github.com/onair-live/onair/economy/board"
)

// creditNow adds a credit from user to streamer in room r1, broadcast b1, at the clock's now.
func (e *env) creditNow(user, streamer string, amount int64) {
	e.t.Helper()
	c := credit(user, amount, amount)
	c.Streamer = streamer
	c.At = e.clock.Now()
	e.add(c)
}

func shanghai(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// acrossMidnight opens a store in Shanghai at before, one second to midnight,
// credits u1 (5, to s1), moves two seconds on and credits u2 (7, to s2).
func acrossMidnight(t *testing.T, newStore Factory, before time.Time) (e *env, after time.Time) {
	e = open(t, newStore, before, board.Config{TimeZone: "Asia/Shanghai"})
	e.creditNow("u1", "s1", 5)
	e.clock.Advance(2 * time.Second)
	e.creditNow("u2", "s2", 7)
	return e, e.clock.Now()
}

// Days end at midnight in the configured zone, not in UTC: both credits here
// fall on 1 January in UTC, but on two days in Shanghai.
func dayRollover(t *testing.T, newStore Factory) {
	before := time.Date(2030, 1, 1, 23, 59, 59, 0, shanghai(t)) // a Tuesday
	e, after := acrossMidnight(t, newStore, before)

	e.want(board.Board{Kind: board.RoomDay, Room: "r1"}, "u2", 7)
	e.want(roomDay("r1", after), "u2", 7)
	e.want(roomDay("r1", before), "u1", 5)
	e.want(board.Board{Kind: board.StreamersDay}, "s2", 7)
	e.want(streamersDay(before), "s1", 5)
	for _, b := range []board.Board{roomWeek("r1", after), roomAll("r1"), broadcastOf("r1", "b1")} {
		e.want(b, "u2", 7, "u1", 5)
	}
	e.want(streamersWeek(after), "s2", 7, "s1", 5)
	e.want(streamersAll, "s2", 7, "s1", 5)
}

// Weeks start on Monday at local midnight.
func weekRollover(t *testing.T, newStore Factory) {
	sunday := time.Date(2030, 1, 6, 23, 59, 59, 0, shanghai(t))
	e, monday := acrossMidnight(t, newStore, sunday)

	e.want(board.Board{Kind: board.RoomWeek, Room: "r1"}, "u2", 7)
	e.want(roomWeek("r1", monday.AddDate(0, 0, 6)), "u2", 7) // the next Sunday, same week
	e.want(roomWeek("r1", sunday), "u1", 5)
	e.want(roomWeek("r1", sunday.AddDate(0, 0, -6)), "u1", 5) // the Monday before
	e.want(board.Board{Kind: board.StreamersWeek}, "s2", 7)
	e.want(streamersWeek(sunday), "s1", 5)
	e.want(roomDay("r1", monday), "u2", 7)
	e.want(roomDay("r1", sunday), "u1", 5)
	e.want(roomAll("r1"), "u2", 7, "u1", 5)
}

func utcByDefault(t *testing.T, newStore Factory) {
	before := time.Date(2030, 1, 6, 23, 59, 59, 0, time.UTC)
	e := open(t, newStore, before, board.Config{})
	e.creditNow("u1", "s1", 5)
	e.clock.Advance(2 * time.Second)
	e.creditNow("u2", "s1", 7)
	e.clock.Advance(7*time.Hour + 59*time.Minute) // 07:59:59 UTC, still Monday
	e.creditNow("u3", "s1", 1)
	e.want(board.Board{Kind: board.RoomDay, Room: "r1"}, "u2", 7, "u3", 1)
	e.want(board.Board{Kind: board.RoomWeek, Room: "r1"}, "u2", 7, "u3", 1)
	e.want(roomDay("r1", before), "u1", 5)
	e.want(roomWeek("r1", before), "u1", 5)
}

// A credit counts in the period of its At, whenever it arrives, and only on
// the boards still kept when it does (or, for a broadcast, still live).
func lateCredit(t *testing.T, newStore Factory) {
	e := open(t, newStore, t0, board.Config{}) // defaults: days kept 48h, weeks 14 days, broadcasts 7 days
	late := func(user string, age time.Duration) time.Time {
		c := credit(user, 3, 3)
		c.At = t0.Add(-age)
		e.add(c)
		return c.At
	}
	yesterday := late("u1", 24*time.Hour)
	e.want(roomDay("r1", yesterday), "u1", 3)
	e.want(board.Board{Kind: board.RoomDay, Room: "r1"})
	e.want(board.Board{Kind: board.RoomWeek, Room: "r1"}, "u1", 3)

	// Friday of the week before: its day ended more than 48h ago, its week has not.
	friday := late("u2", 5*24*time.Hour)
	e.want(roomDay("r1", friday))
	e.want(streamersDay(friday))
	e.want(roomWeek("r1", friday), "u2", 3)
	e.want(streamersWeek(friday), "s1", 3)
	e.want(broadcastOf("r1", "b1"), "u1", 3, "u2", 3)

	// A month old: its day and week are gone; its broadcast board is live,
	// so it counts there.
	old := late("u3", 30*24*time.Hour)
	e.want(roomDay("r1", old))
	e.want(roomWeek("r1", old))
	e.want(streamersWeek(old))
	e.want(broadcastOf("r1", "b1"), "u1", 3, "u2", 3, "u3", 3)
	// A month old to a broadcast with no live board: it starts none.
	c := credit("u4", 3, 3)
	c.Broadcast, c.At = "b0", old
	e.add(c)
	e.want(broadcastOf("r1", "b0"))
	e.want(roomAll("r1"), "u1", 3, "u2", 3, "u3", 3, "u4", 3)
	e.want(streamersAll, "s1", 12)
}

// A board reads as empty from its deadline on, by the store's clock.
func expiry(t *testing.T, newStore Factory) {
	e := open(t, newStore, t0, board.Config{
		DayRetention: time.Hour, WeekRetention: 2 * time.Hour, BroadcastRetention: 30 * time.Minute,
	})
	e.creditNow("u1", "s1", 10)
	bc := broadcastOf("r1", "b1")

	e.clock.Set(t0.Add(30*time.Minute - time.Millisecond))
	e.want(bc, "u1", 10)
	e.clock.Set(t0.Add(30 * time.Minute))
	e.want(bc)
	// A credit after that starts the broadcast board afresh, and moves its deadline.
	e.creditNow("u2", "s1", 3)
	e.want(bc, "u2", 3)
	e.clock.Set(t0.Add(time.Hour - time.Millisecond))
	e.want(bc, "u2", 3)
	e.clock.Set(t0.Add(time.Hour))
	e.want(bc)

	jan3 := time.Date(2030, 1, 3, 0, 0, 0, 0, time.UTC)
	e.clock.Set(jan3.Add(time.Hour - time.Millisecond))
	e.want(roomDay("r1", t0), "u1", 10, "u2", 3)
	e.want(streamersDay(t0), "s1", 13)
	e.clock.Set(jan3.Add(time.Hour))
	e.want(roomDay("r1", t0))
	e.want(streamersDay(t0))
	e.want(roomWeek("r1", t0), "u1", 10, "u2", 3)

	monday := time.Date(2030, 1, 7, 0, 0, 0, 0, time.UTC)
	e.clock.Set(monday.Add(2*time.Hour - time.Millisecond))
	e.want(roomWeek("r1", t0), "u1", 10, "u2", 3)
	e.want(streamersWeek(t0), "s1", 13)
	e.clock.Set(monday.Add(2 * time.Hour))
	e.want(roomWeek("r1", t0))
	e.want(streamersWeek(t0))

	e.clock.Set(t0.AddDate(5, 0, 0))
	e.want(roomAll("r1"), "u1", 10, "u2", 3)
	e.want(streamersAll, "s1", 13)
}
