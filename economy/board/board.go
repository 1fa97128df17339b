package board

import (
	"context"
	"fmt"
	"iter"
	"time"
)

// MaxScore is the largest score a board holds: 2^53, the largest integer below
// which every integer is exact in the float64 that Redis keeps scores in.
const MaxScore = int64(1) << 53

// MaxTop is the most entries one Top call returns.
const MaxTop = 1000

// Kind is a family of boards.
type Kind uint8

// The kinds of board. Room kinds rank a room's contributors (users) by the
// Amount they gave; streamer kinds rank streamers by what they Earned.
const (
	RoomBroadcast    Kind = iota + 1 // one broadcast of a room
	RoomDay                          // a room, one day
	RoomWeek                         // a room, one ISO week
	RoomAllTime                      // a room, ever
	StreamersDay                     // every streamer, one day
	StreamersWeek                    // every streamer, one ISO week
	StreamersAllTime                 // every streamer, ever
)

var kindNames = [...]string{"", "room-broadcast", "room-day", "room-week", "room-all-time",
	"streamers-day", "streamers-week", "streamers-all-time"}

func (k Kind) String() string {
	if k.valid() {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

func (k Kind) valid() bool   { return k >= RoomBroadcast && k <= StreamersAllTime }
func (k Kind) inRoom() bool  { return k <= RoomAllTime }
func (k Kind) daily() bool   { return k == RoomDay || k == StreamersDay }
func (k Kind) weekly() bool  { return k == RoomWeek || k == StreamersWeek }
func (k Kind) periods() bool { return k.daily() || k.weekly() }

// Board picks one leaderboard to read.
type Board struct {
	Kind Kind
	// Room is required for room kinds and must be empty for streamer kinds.
	Room string
	// Broadcast is required for RoomBroadcast and must be empty otherwise.
	Broadcast string
	// At picks the period of a day or week board: the one that contains At.
	// Zero means the current period by the store's clock. Other kinds ignore it.
	At time.Time
}

// Credit is one committed gift as the boards see it.
type Credit struct {
	// ID is the ledger event's id. Optional: with one, Add applies the credit
	// at most once within Config.DedupWindow, so that a feed that delivers
	// at least once (a redelivered outbox event) counts it once.
	ID   string
	Room string // the room the gift was sent in
	// Broadcast is the room's live session when the gift was sent; empty
	// leaves the broadcast board out (a gift to an offline room).
	Broadcast string
	User      string // the contributor
	Streamer  string // the streamer credited: the room's owner or a co-host
	// Amount is what the user gave, in coins: room boards rank by it. At least 1.
	Amount int64
	// Earned is what the streamer earned from it, in earnings units (the gift
	// value minus commission): streamer boards rank by it. Zero leaves the
	// streamer boards untouched; never negative.
	Earned int64
	// At is when the ledger committed the gift; it picks the day and week.
	At time.Time
}

// Entry is one line of a board.
type Entry struct {
	ID    string // a user on room boards, a streamer on streamer boards
	Score int64
	Rank  int // 1-based; see the package comment for how ties are ordered
}

// Store holds the leaderboards. Every method runs under the ctx it is given
// and is safe for concurrent use.
//
// Ids (rooms, broadcasts, users, streamers) are 1 to 128 bytes with no ':',
// space or control byte; anything else, a zero At, an Amount below 1 or a
// negative Earned is ErrBadCredit, and a malformed Board or n is ErrBadBoard.
type Store interface {
	// Add counts a credit on every board it belongs to: its room's broadcast,
	// day, week and all-time boards for c.User by c.Amount, and the streamers'
	// day, week and all-time boards for c.Streamer by c.Earned. A day or week
	// board already expired by the store's clock is left out; a broadcast
	// board that expired starts afresh, unless the credit is itself older
	// than BroadcastRetention. Add is atomic: a reader sees the credit on all
	// of its boards or on none, and a credit that would push any score past
	// MaxScore is refused whole (ErrScoreLimit). A credit whose ID was
	// applied less than DedupWindow ago is skipped without error, atomically
	// with that check; one without an ID is always applied.
	Add(ctx context.Context, c Credit) error

	// Top returns the first n entries of a board (1 ≤ n ≤ MaxTop), fewer if
	// it has fewer; an unknown or expired board is empty, not an error.
	Top(ctx context.Context, b Board, n int) ([]Entry, error)

	// Rank returns id's entry on a board, and false if id is not on it.
	Rank(ctx context.Context, b Board, id string) (Entry, bool, error)

	// Rebuild replaces every board with what a store fed credits in the
	// order given, each at its At, shows at the store's clock now. Give them
	// in ledger order (At ascending): the order matters only to a broadcast
	// board, which restarts at a credit BroadcastRetention or more after its
	// latest. Rebuild is idempotent, and with no credits it clears every
	// board. Readers see the old boards until the new ones are complete, then
	// the new ones: never a mix. A bad credit, a score past MaxScore or an
	// error from credits stops it and leaves the old boards as they were.
	// The IDs of credits whose At is within DedupWindow of now are remembered
	// as Add remembers them, so the feed may be replayed from any point that
	// recent without counting anything twice. Rebuild itself trusts its
	// credits to be distinct.
	// Credits Added while a Rebuild runs are lost when it ends, unless they are
	// in credits too: pause the credit feed, or replay it from where credits
	// were read.
	Rebuild(ctx context.Context, credits iter.Seq2[Credit, error]) error
}

// Credits turns a slice into the sequence Rebuild reads.
func Credits(cs []Credit) iter.Seq2[Credit, error] {
	return func(yield func(Credit, error) bool) {
		for _, c := range cs {
			if !yield(c, nil) {
				return
			}
		}
	}
}
