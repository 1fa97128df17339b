package memboard

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"sync"
	"time"

	"github.com/onair-live/onair/economy/board"
)

var _ board.Store = (*Store)(nil)

// DefaultSweepEvery is how often, at most, an Add sweeps out expired boards.
const DefaultSweepEvery = time.Minute

// Store is the in-memory board.Store. The zero value is not usable; call New.
type Store struct {
	cal        *board.Calendar
	sweepEvery time.Duration

	mu        sync.RWMutex // guards boards, ids and nextSweep
	boards    map[board.Key]*ranking
	ids       map[string]time.Time // credit IDs taken, until when they are remembered
	nextSweep time.Time
}

// Option configures a Store.
type Option func(*Store)

// WithSweepEvery sets how often an Add sweeps out everything expired. Zero or
// less means DefaultSweepEvery.
func WithSweepEvery(d time.Duration) Option { return func(s *Store) { s.sweepEvery = d } }

// New returns an empty store; cfg is checked as board.NewCalendar does.
func New(cfg board.Config, opts ...Option) (*Store, error) {
	cal, err := board.NewCalendar(cfg)
	if err != nil {
		return nil, err
	}
	s := &Store{cal: cal, boards: make(map[board.Key]*ranking), ids: make(map[string]time.Time)}
	for _, o := range opts {
		o(s)
	}
	if s.sweepEvery <= 0 {
		s.sweepEvery = DefaultSweepEvery
	}
	return s, nil
}

// Add implements board.Store.
func (s *Store) Add(ctx context.Context, c board.Credit) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := s.cal.Now()
	incs, err := s.cal.Plan(c, now)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !now.Before(s.nextSweep) {
		s.nextSweep = now.Add(s.sweepEvery)
		sweep(s.boards, s.ids, now)
	}
	if c.ID != "" && s.ids[c.ID].After(now) {
		return nil // taken within the window
	}
	if err := apply(s.boards, incs, now); err != nil {
		return err
	}
	if c.ID != "" {
		s.ids[c.ID] = s.cal.Remember(now)
	}
	return nil
}

// apply adds incs to boards, all of them or, when one would pass
// board.MaxScore, none. An increment counts on a live board, or starts a new
// one if its own deadline is after now (see board.Calendar.Plan).
func apply(boards map[board.Key]*ranking, incs []board.Increment, now time.Time) error {
	rs := make([]*ranking, len(incs)) // each board looked up once
	for i, in := range incs {
		rs[i] = live(boards, in.Key, now)
		if rs[i] == nil {
			continue
		}
		if cur := rs[i].scores[in.Member]; !board.Fits(cur, in.Amount) {
			return fmt.Errorf("%w: %s of %s on %s holds %d, adding %d", board.ErrScoreLimit,
				in.Key.Kind, in.Member, in.Key.Path(), cur, in.Amount)
		}
	}
	for i, in := range incs {
		r := rs[i]
		if r == nil {
			if board.Expired(in.Deadline, now) {
				continue
			}
			r = &ranking{scores: make(map[string]int64)}
			boards[in.Key] = r
		}
		r.add(in.Member, in.Amount)
		if in.Deadline.After(r.deadline) {
			r.deadline = in.Deadline
		}
	}
	return nil
}

// live returns the board at k, or nil if there is none or it expired (it is
// then dropped).
func live(boards map[board.Key]*ranking, k board.Key, now time.Time) *ranking {
	r := boards[k]
	if r != nil && board.Expired(r.deadline, now) {
		delete(boards, k)
		return nil
	}
	return r
}

func sweep(boards map[board.Key]*ranking, ids map[string]time.Time, now time.Time) {
	for k, r := range boards {
		if board.Expired(r.deadline, now) {
			delete(boards, k)
		}
	}
	for id, until := range ids {
		if !until.After(now) {
			delete(ids, id)
		}
	}
}

// find returns the live board b names, or nil.
func (s *Store) find(ctx context.Context, b board.Board) (*ranking, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := s.cal.Now()
	k, _, err := s.cal.Locate(b, now)
	if err != nil {
		return nil, err
	}
	r := s.boards[k]
	if r == nil || board.Expired(r.deadline, now) {
		return nil, nil
	}
	return r, nil
}

// Top implements board.Store.
func (s *Store) Top(ctx context.Context, b board.Board, n int) ([]board.Entry, error) {
	if err := board.CheckTop(n); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, err := s.find(ctx, b)
	if r == nil {
		return nil, err
	}
	out := make([]board.Entry, min(n, len(r.order)))
	for i := range out {
		out[i] = r.order[i]
		out[i].Rank = i + 1
	}
	return out, nil
}

// Rank implements board.Store.
func (s *Store) Rank(ctx context.Context, b board.Board, id string) (board.Entry, bool, error) {
	if err := board.CheckMember(id); err != nil {
		return board.Entry{}, false, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, err := s.find(ctx, b)
	if r == nil {
		return board.Entry{}, false, err
	}
	score, ok := r.scores[id]
	if !ok {
		return board.Entry{}, false, nil
	}
	i, _ := r.search(id, score)
	return board.Entry{ID: id, Score: score, Rank: i + 1}, true, nil
}

// Rebuild implements board.Store.
func (s *Store) Rebuild(ctx context.Context, credits iter.Seq2[board.Credit, error]) error {
	sums, err := s.cal.Sum(ctx, credits, s.cal.Now())
	if err != nil {
		return fmt.Errorf("memboard: rebuild: %w", err)
	}
	boards := make(map[board.Key]*ranking, len(sums.Boards))
	for k, t := range sums.Boards {
		r := &ranking{scores: t.Scores, order: make([]board.Entry, 0, len(t.Scores)), deadline: t.Deadline}
		for id, score := range t.Scores {
			r.order = append(r.order, board.Entry{ID: id, Score: score})
		}
		slices.SortFunc(r.order, board.Compare)
		boards[k] = r
	}
	s.mu.Lock()
	s.boards, s.ids = boards, sums.IDs
	s.mu.Unlock()
	return nil
}

// ranking is one board: scores by member, and the same entries in board order
// (Rank left zero).
type ranking struct {
	scores   map[string]int64
	order    []board.Entry
	deadline time.Time // zero: never expires
}

// search finds where (id, score) is or would go in order.
func (r *ranking) search(id string, score int64) (int, bool) {
	return slices.BinarySearchFunc(r.order, board.Entry{ID: id, Score: score}, board.Compare)
}

// add raises member by amt ≥ 1: the entry can only move towards the front, so
// it shifts the entries it overtakes back by one.
func (r *ranking) add(member string, amt int64) {
	old, had := r.scores[member]
	e := board.Entry{ID: member, Score: old + amt}
	r.scores[member] = e.Score
	to, _ := r.search(member, e.Score)
	if !had {
		r.order = slices.Insert(r.order, to, e)
		return
	}
	from, _ := r.search(member, old)
	copy(r.order[to+1:from+1], r.order[to:from])
	r.order[to] = e
}
