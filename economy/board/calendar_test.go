package board

import (
	"errors"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, whatever the machine has installed
)

func mustCalendar(t *testing.T, zone string) *Calendar {
	t.Helper()
	c, err := NewCalendar(Config{TimeZone: zone})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPeriodNames(t *testing.T) {
	utc, sh := mustCalendar(t, ""), mustCalendar(t, "Asia/Shanghai")
	for _, c := range []struct {
		cal       *Calendar
		at        time.Time
		day, week string
	}{
		{utc, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), "2030-01-01", "2030-W01"},
		{utc, time.Date(2029, 12, 31, 0, 0, 0, 0, time.UTC), "2029-12-31", "2030-W01"}, // a Monday in ISO 2030
		{utc, time.Date(2029, 12, 30, 23, 59, 59, 0, time.UTC), "2029-12-30", "2029-W52"},
		{utc, time.Date(2027, 1, 1, 12, 0, 0, 0, time.UTC), "2027-01-01", "2026-W53"},   // a Friday in ISO 2026
		{utc, time.Date(2030, 1, 6, 23, 59, 59, 0, time.UTC), "2030-01-06", "2030-W01"}, // Sunday
		{utc, time.Date(2030, 1, 7, 0, 0, 0, 0, time.UTC), "2030-01-07", "2030-W02"},    // Monday
		// 16:00 UTC on Sunday is Monday 00:00 in Shanghai (UTC+8).
		{sh, time.Date(2030, 1, 6, 15, 59, 59, 0, time.UTC), "2030-01-06", "2030-W01"},
		{sh, time.Date(2030, 1, 6, 16, 0, 0, 0, time.UTC), "2030-01-07", "2030-W02"},
	} {
		if d, w := c.cal.Day(c.at), c.cal.Week(c.at); d != c.day || w != c.week {
			t.Errorf("%v in %v: day %s week %s, want %s %s", c.at, c.cal.Location(), d, w, c.day, c.week)
		}
	}
}

// Period ends are local midnights, also on the days a DST change makes 23 or 25 hours long.
func TestPeriodEnds(t *testing.T) {
	berlin := mustCalendar(t, "Europe/Berlin")
	loc := berlin.Location()
	for _, c := range []struct {
		at, dayEnd, weekEnd time.Time
	}{
		{ // Sunday 31 March 2030: clocks go forward, the day has 23 hours
			time.Date(2030, 3, 31, 1, 0, 0, 0, loc),
			time.Date(2030, 4, 1, 0, 0, 0, 0, loc),
			time.Date(2030, 4, 1, 0, 0, 0, 0, loc),
		},
		{ // Sunday 27 October 2030: clocks go back, the day has 25 hours
			time.Date(2030, 10, 27, 2, 30, 0, 0, loc),
			time.Date(2030, 10, 28, 0, 0, 0, 0, loc),
			time.Date(2030, 10, 28, 0, 0, 0, 0, loc),
		},
		{ // Monday 00:00 starts a week that ends the next Monday
			time.Date(2030, 10, 28, 0, 0, 0, 0, loc),
			time.Date(2030, 10, 29, 0, 0, 0, 0, loc),
			time.Date(2030, 11, 4, 0, 0, 0, 0, loc),
		},
		{ // Wednesday
			time.Date(2030, 1, 2, 12, 0, 0, 0, loc),
			time.Date(2030, 1, 3, 0, 0, 0, 0, loc),
			time.Date(2030, 1, 7, 0, 0, 0, 0, loc),
		},
	} {
		if got := berlin.DayEnd(c.at); !got.Equal(c.dayEnd) {
			t.Errorf("DayEnd(%v) = %v, want %v", c.at, got, c.dayEnd)
		}
		if got := berlin.WeekEnd(c.at); !got.Equal(c.weekEnd) {
			t.Errorf("WeekEnd(%v) = %v, want %v", c.at, got, c.weekEnd)
		}
	}
	if h := berlin.DayEnd(time.Date(2030, 3, 31, 1, 0, 0, 0, loc)).Sub(time.Date(2030, 3, 31, 0, 0, 0, 0, loc)); h != 23*time.Hour {
		t.Errorf("31 March 2030 in Berlin lasts %v, want 23h", h)
	}
}

func TestConfig(t *testing.T) {
	c := mustCalendar(t, "")
	if c.Location() != time.UTC {
		t.Errorf("empty zone is %v, want UTC", c.Location())
	}
	def := DefaultConfig()
	if c.cfg.DayRetention != def.DayRetention || c.cfg.WeekRetention != def.WeekRetention ||
		c.cfg.BroadcastRetention != def.BroadcastRetention || c.cfg.DedupWindow != def.DedupWindow || c.cfg.Now == nil {
		t.Errorf("zero config filled in as %+v, want the defaults %+v", c.cfg, def)
	}
	for _, bad := range []Config{
		{TimeZone: "Mars/Olympus_Mons"},
		{DayRetention: -time.Second},
		{WeekRetention: -1},
		{BroadcastRetention: -time.Hour},
		{DedupWindow: -time.Minute},
	} {
		if _, err := NewCalendar(bad); !errors.Is(err, ErrBadConfig) {
			t.Errorf("NewCalendar(%+v): %v, want ErrBadConfig", bad, err)
		}
	}
}

func TestKeyPathsAreDistinct(t *testing.T) {
	seen := map[string]Key{}
	for _, k := range []Key{
		{Kind: RoomBroadcast, Room: "a", Broadcast: "all"},
		{Kind: RoomDay, Room: "a", Period: "2030-01-01"},
		{Kind: RoomWeek, Room: "a", Period: "2030-W01"},
		{Kind: RoomAllTime, Room: "a"},
		{Kind: RoomAllTime, Room: "s"},
		{Kind: StreamersDay, Period: "2030-01-01"},
		{Kind: StreamersWeek, Period: "2030-W01"},
		{Kind: StreamersAllTime},
	} {
		if other, dup := seen[k.Path()]; dup {
			t.Errorf("%+v and %+v share the path %s", k, other, k.Path())
		}
		seen[k.Path()] = k
	}
}

func TestFitsAtTheLimit(t *testing.T) {
	for _, c := range []struct {
		cur, amt int64
		want     bool
	}{
		{0, MaxScore, true},
		{1, MaxScore, false},
		{MaxScore - 1, 1, true},
		{MaxScore, 1, false},
		{MaxScore, MaxScore, false},
	} {
		if got := Fits(c.cur, c.amt); got != c.want {
			t.Errorf("Fits(%d, %d) = %v, want %v", c.cur, c.amt, got, c.want)
		}
	}
	// Every score up to MaxScore survives the float64 a Redis score is.
	for _, v := range []int64{MaxScore, MaxScore - 1, MaxScore - 2} {
		if int64(float64(v)) != v {
			t.Errorf("%d is not exact as a float64", v)
		}
	}
	if int64(float64(MaxScore+1)) == MaxScore+1 {
		t.Error("2^53+1 is exact as a float64: the limit is wrong")
	}
}
