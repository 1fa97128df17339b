package board

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"strings"
	"time"
)

// Config configures a Store; zero fields mean the defaults of DefaultConfig.
type Config struct {
	// TimeZone is the IANA zone whose midnight and Monday cut day and week
	// boards, such as "Asia/Shanghai". Empty means UTC.
	TimeZone string `yaml:"time_zone"`
	// DayRetention is how long a day board is kept after its day ends.
	DayRetention time.Duration `yaml:"day_retention"`
	// WeekRetention is how long a week board is kept after its week ends.
	WeekRetention time.Duration `yaml:"week_retention"`
	// BroadcastRetention is how long a broadcast board is kept after the At of
	// its latest credit.
	BroadcastRetention time.Duration `yaml:"broadcast_retention"`
	// DedupWindow is how long Add remembers a credit's ID. Each remembered ID
	// costs a small key (Redis) or map entry (memory) for that long.
	DedupWindow time.Duration `yaml:"dedup_window"`
	// Now is the clock; nil means time.Now. Tests pass a manual one.
	Now func() time.Time `yaml:"-"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		TimeZone:           "UTC",
		DayRetention:       48 * time.Hour,
		WeekRetention:      14 * 24 * time.Hour,
		BroadcastRetention: 7 * 24 * time.Hour,
		DedupWindow:        10 * time.Minute,
		Now:                time.Now,
	}
}

// Calendar is a validated Config: it cuts periods, names boards and says when
// they expire. Implementations of Store hold one.
type Calendar struct {
	cfg Config
	loc *time.Location
}

// NewCalendar fills in cfg's defaults and checks it: the zone must load and no
// retention may be negative.
func NewCalendar(cfg Config) (*Calendar, error) {
	def := DefaultConfig()
	if cfg.TimeZone == "" {
		cfg.TimeZone = def.TimeZone
	}
	loc, err := time.LoadLocation(cfg.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("%w: time_zone %q: %v", ErrBadConfig, cfg.TimeZone, err)
	}
	for _, r := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"day_retention", &cfg.DayRetention, def.DayRetention},
		{"week_retention", &cfg.WeekRetention, def.WeekRetention},
		{"broadcast_retention", &cfg.BroadcastRetention, def.BroadcastRetention},
		{"dedup_window", &cfg.DedupWindow, def.DedupWindow},
	} {
		if *r.v < 0 {
			return nil, fmt.Errorf("%w: %s is %v; it must not be negative (0 means %v)", ErrBadConfig, r.name, *r.v, r.def)
		}
		if *r.v == 0 {
			*r.v = r.def
		}
	}
	if cfg.Now == nil {
		cfg.Now = def.Now
	}
	return &Calendar{cfg: cfg, loc: loc}, nil
}

// Now reads the clock.
func (c *Calendar) Now() time.Time { return c.cfg.Now() }

// Location is the zone that cuts periods.
func (c *Calendar) Location() *time.Location { return c.loc }

// Day names the day that contains t, as "2030-01-02".
func (c *Calendar) Day(t time.Time) string { return t.In(c.loc).Format(time.DateOnly) }

// Week names the ISO 8601 week that contains t, as "2030-W01".
func (c *Calendar) Week(t time.Time) string {
	y, w := t.In(c.loc).ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, w)
}

// DayEnd is the local midnight that ends the day containing t.
func (c *Calendar) DayEnd(t time.Time) time.Time {
	y, m, d := t.In(c.loc).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, c.loc)
}

// WeekEnd is the local midnight starting the Monday after the week containing t.
func (c *Calendar) WeekEnd(t time.Time) time.Time {
	l := t.In(c.loc)
	y, m, d := l.Date()
	sinceMonday := (int(l.Weekday()) + 6) % 7
	return time.Date(y, m, d-sinceMonday+7, 0, 0, 0, 0, c.loc)
}

// Remember is until when an ID that Add takes at now is remembered.
func (c *Calendar) Remember(now time.Time) time.Time { return now.Add(c.cfg.DedupWindow) }

// Key names one board: a Kind and the ids and period that pick it out.
type Key struct {
	Kind      Kind
	Room      string
	Broadcast string
	Period    string // Day or Week name for day and week kinds, else empty
}

// Path is the key as a string, unique per key because ids hold no ':':
// r:<room>:b:<broadcast>, r:<room>:d:<day>, r:<room>:w:<week>, r:<room>:all,
// s:d:<day>, s:w:<week>, s:all.
func (k Key) Path() string {
	var scope string
	if k.Kind.inRoom() {
		scope = "r:" + k.Room + ":"
	} else {
		scope = "s:"
	}
	switch {
	case k.Kind == RoomBroadcast:
		return scope + "b:" + k.Broadcast
	case k.Kind.daily():
		return scope + "d:" + k.Period
	case k.Kind.weekly():
		return scope + "w:" + k.Period
	default:
		return scope + "all"
	}
}

// Increment is one board's share of a credit.
type Increment struct {
	Key    Key
	Member string
	Amount int64
	// Deadline is when the board expires: for a broadcast board, the deadline
	// this credit gives it (the board keeps the latest); zero for all-time.
	Deadline time.Time
}

// Plan checks a credit and returns the increments Add applies for it at now:
// one per board it belongs to, leaving out day and week boards expired at now.
// A broadcast increment is left to the store, because a broadcast board's
// deadline moves with its credits: it counts if the board is live at now, and
// otherwise starts the board afresh if its own Deadline is after now.
func (c *Calendar) Plan(cr Credit, now time.Time) ([]Increment, error) {
	if err := checkCredit(cr); err != nil {
		return nil, err
	}
	day, week := c.Day(cr.At), c.Week(cr.At)
	dayEnd := c.DayEnd(cr.At).Add(c.cfg.DayRetention)
	weekEnd := c.WeekEnd(cr.At).Add(c.cfg.WeekRetention)
	all := append(make([]Increment, 0, 7),
		Increment{Key{Kind: RoomDay, Room: cr.Room, Period: day}, cr.User, cr.Amount, dayEnd},
		Increment{Key{Kind: RoomWeek, Room: cr.Room, Period: week}, cr.User, cr.Amount, weekEnd},
		Increment{Key{Kind: RoomAllTime, Room: cr.Room}, cr.User, cr.Amount, time.Time{}})
	if cr.Broadcast != "" {
		all = append(all, Increment{Key{Kind: RoomBroadcast, Room: cr.Room, Broadcast: cr.Broadcast},
			cr.User, cr.Amount, cr.At.Add(c.cfg.BroadcastRetention)})
	}
	if cr.Earned > 0 {
		all = append(all,
			Increment{Key{Kind: StreamersDay, Period: day}, cr.Streamer, cr.Earned, dayEnd},
			Increment{Key{Kind: StreamersWeek, Period: week}, cr.Streamer, cr.Earned, weekEnd},
			Increment{Key{Kind: StreamersAllTime}, cr.Streamer, cr.Earned, time.Time{}})
	}
	out := all[:0]
	for _, in := range all {
		if in.Key.Kind == RoomBroadcast || !Expired(in.Deadline, now) {
			out = append(out, in)
		}
	}
	return out, nil
}

// Locate checks a board and returns its key at now and, for day and week
// boards, when it expires. Broadcast boards expire by their data, all-time
// boards never: both get a zero deadline.
func (c *Calendar) Locate(b Board, now time.Time) (Key, time.Time, error) {
	if err := checkBoard(b); err != nil {
		return Key{}, time.Time{}, err
	}
	k := Key{Kind: b.Kind, Room: b.Room, Broadcast: b.Broadcast}
	at := b.At
	if at.IsZero() {
		at = now
	}
	switch {
	case b.Kind.daily():
		k.Period = c.Day(at)
		return k, c.DayEnd(at).Add(c.cfg.DayRetention), nil
	case b.Kind.weekly():
		k.Period = c.Week(at)
		return k, c.WeekEnd(at).Add(c.cfg.WeekRetention), nil
	}
	return k, time.Time{}, nil
}

// Expired says whether a board with this deadline is gone at now; a zero
// deadline never expires.
func Expired(deadline, now time.Time) bool {
	return !deadline.IsZero() && !deadline.After(now)
}

// Fits says whether adding amt to a score of cur stays within MaxScore, for
// 0 ≤ cur ≤ MaxScore and amt ≥ 1; written so that nothing overflows.
func Fits(cur, amt int64) bool { return amt <= MaxScore-cur }

// Compare orders entries as boards do: higher score first, then ID in
// ascending byte order.
func Compare(a, b Entry) int {
	if a.Score != b.Score {
		return cmp.Compare(b.Score, a.Score)
	}
	return strings.Compare(a.ID, b.ID)
}

// CheckTop checks the n of a Top call.
func CheckTop(n int) error {
	if n < 1 || n > MaxTop {
		return fmt.Errorf("%w: Top of %d entries; ask for 1 to %d", ErrBadBoard, n, MaxTop)
	}
	return nil
}

// CheckMember checks the id of a Rank call.
func CheckMember(id string) error { return checkID(ErrBadBoard, "id", id) }

func checkCredit(c Credit) error {
	if c.ID != "" {
		if err := checkID(ErrBadCredit, "credit", c.ID); err != nil {
			return err
		}
	}
	for _, f := range []struct{ name, v string }{
		{"room", c.Room}, {"user", c.User}, {"streamer", c.Streamer},
	} {
		if err := checkID(ErrBadCredit, f.name, f.v); err != nil {
			return err
		}
	}
	if c.Broadcast != "" {
		if err := checkID(ErrBadCredit, "broadcast", c.Broadcast); err != nil {
			return err
		}
	}
	switch {
	case c.Amount < 1 || c.Amount > MaxScore:
		return fmt.Errorf("%w: amount %d; it must be 1 to 2^53", ErrBadCredit, c.Amount)
	case c.Earned < 0 || c.Earned > MaxScore:
		return fmt.Errorf("%w: earned %d; it must be 0 to 2^53", ErrBadCredit, c.Earned)
	case c.At.IsZero():
		return fmt.Errorf("%w: no time (At is zero); give the ledger's commit time", ErrBadCredit)
	}
	return nil
}

func checkBoard(b Board) error {
	if !b.Kind.valid() {
		return fmt.Errorf("%w: unknown kind %v", ErrBadBoard, b.Kind)
	}
	if b.Kind.inRoom() {
		if err := checkID(ErrBadBoard, "room", b.Room); err != nil {
			return err
		}
	} else if b.Room != "" {
		return fmt.Errorf("%w: a %v board has no room (got %q)", ErrBadBoard, b.Kind, b.Room)
	}
	if b.Kind == RoomBroadcast {
		return checkID(ErrBadBoard, "broadcast", b.Broadcast)
	}
	if b.Broadcast != "" {
		return fmt.Errorf("%w: a %v board has no broadcast (got %q)", ErrBadBoard, b.Kind, b.Broadcast)
	}
	return nil
}

// maxID is the longest id in bytes.
const maxID = 128

func checkID(sentinel error, what, s string) error {
	if len(s) == 0 || len(s) > maxID {
		return fmt.Errorf("%w: %s id of %d bytes; it must be 1 to %d", sentinel, what, len(s), maxID)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == ':' || c == 0x7f {
			return fmt.Errorf("%w: %s id %q holds %q; ids have no ':', space or control character", sentinel, what, s, c)
		}
	}
	return nil
}

// Total is one board's sums, as Rebuild writes them.
type Total struct {
	Scores   map[string]int64
	Deadline time.Time // the latest deadline of its increments; zero for all-time
}

// Sums is what Rebuild writes: the boards, and the credit IDs to remember
// with the time until which to remember each.
type Sums struct {
	Boards map[Key]*Total
	IDs    map[string]time.Time
}

// Sum reads credits and adds them up per board as Rebuild writes them: what a
// store fed the credits in the order given, each at its At, shows at now. So
// a broadcast board restarts at a credit that comes at or after its deadline,
// and boards whose deadline is not after now are left out. The IDs of credits
// whose At is within DedupWindow of now are remembered until Remember(now).
// It stops at the first bad credit, at an error from credits, at a score past
// MaxScore, and when ctx ends.
func (c *Calendar) Sum(ctx context.Context, credits iter.Seq2[Credit, error], now time.Time) (Sums, error) {
	sums := Sums{Boards: make(map[Key]*Total), IDs: make(map[string]time.Time)}
	recent := now.Add(-c.cfg.DedupWindow)
	n := 0
	for cr, err := range credits {
		n++
		if err != nil {
			return Sums{}, fmt.Errorf("reading credit %d: %w", n, err)
		}
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return Sums{}, err
			}
		}
		incs, err := c.Plan(cr, now)
		if err != nil {
			return Sums{}, fmt.Errorf("credit %d: %w", n, err)
		}
		for _, in := range incs {
			t := sums.Boards[in.Key]
			if t == nil || Expired(t.Deadline, cr.At) {
				t = &Total{Scores: make(map[string]int64)}
				sums.Boards[in.Key] = t
			}
			cur := t.Scores[in.Member]
			if !Fits(cur, in.Amount) {
				return Sums{}, fmt.Errorf("credit %d: %w: %s on %s would pass it", n, ErrScoreLimit, in.Member, in.Key.Path())
			}
			t.Scores[in.Member] = cur + in.Amount
			if in.Deadline.After(t.Deadline) {
				t.Deadline = in.Deadline
			}
		}
		if cr.ID != "" && cr.At.After(recent) {
			sums.IDs[cr.ID] = c.Remember(now)
		}
	}
	for k, t := range sums.Boards {
		if Expired(t.Deadline, now) {
			delete(sums.Boards, k)
		}
	}
	return sums, ctx.Err()
}
