package memboard

import (
	"testing"
	"time"

	"github.com/onair-live/onair/economy/board"
	"github.com/onair-live/onair/economy/board/boardtest"
)

func newStore(tb testing.TB, cfg board.Config) board.Store {
	s, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestContract(t *testing.T) { boardtest.Run(t, newStore) }

func BenchmarkAdd(b *testing.B) { boardtest.BenchAdd(b, newStore) }
func BenchmarkTop(b *testing.B) { boardtest.BenchTop(b, newStore) }

// Expired boards are swept out by the next Add after WithSweepEvery, even if
// nothing reads them again: memory tracks what is alive.
func TestSweepForgetsExpired(t *testing.T) {
	ctx := t.Context()
	clock := boardtest.NewClock(time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC))
	s, err := New(board.Config{Now: clock.Now, DayRetention: time.Hour, WeekRetention: time.Hour,
		BroadcastRetention: time.Hour}, WithSweepEvery(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	add := func(room, bc string) {
		t.Helper()
		c := board.Credit{Room: room, Broadcast: bc, User: "u", Streamer: "s", Amount: 1, Earned: 1, At: clock.Now()}
		if err := s.Add(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	for _, room := range []string{"a", "b", "c"} {
		add(room, "b1")
	}
	if n := len(s.boards); n != 3*4+3 {
		t.Fatalf("%d boards, want 15", n)
	}
	clock.Set(time.Date(2030, 1, 8, 0, 0, 0, 0, time.UTC)) // past every retention
	add("d", "")
	// Left: the all-time boards of a, b, c; d's day, week and all-time; the streamers' three.
	if n := len(s.boards); n != 3+3+3 {
		t.Fatalf("%d boards after the sweep, want 9", n)
	}
	for k := range s.boards {
		if k.Room != "d" && k.Room != "" && k.Kind != board.RoomAllTime {
			t.Errorf("board %s survived its retention", k.Path())
		}
	}
}

func TestNewBadConfig(t *testing.T) {
	if _, err := New(board.Config{TimeZone: "Nowhere/Town"}); err == nil {
		t.Fatal("New with an unknown zone: no error")
	}
}
