package memstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/onair-live/onair/room"
)

var (
	_ room.Presence  = (*Store)(nil)
	_ room.Directory = (*Store)(nil)
	_ room.Limiter   = (*Store)(nil)
)

// Defaults for the options.
const (
	DefaultLeaseTTL   = 30 * time.Second
	DefaultSweepEvery = time.Minute
)

// Store is the in-memory hot state. The zero value is not usable; call New.
type Store struct {
	now        func() time.Time
	leaseTTL   time.Duration
	sweepEvery time.Duration

	pres presence
	dir  directory
	lim  limiter
}

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock (default time.Now); tests pass a fake one.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithLeaseTTL sets the lease a node gets when it Joins before any Renew,
// or after its lease lapsed. Zero or less means DefaultLeaseTTL.
func WithLeaseTTL(d time.Duration) Option { return func(s *Store) { s.leaseTTL = d } }

// WithSweepEvery sets how often a write sweeps out everything expired.
// Zero or less means DefaultSweepEvery.
func WithSweepEvery(d time.Duration) Option { return func(s *Store) { s.sweepEvery = d } }

// New returns an empty store.
func New(opts ...Option) *Store {
	s := &Store{}
	for _, o := range opts {
		o(s)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.leaseTTL <= 0 {
		s.leaseTTL = DefaultLeaseTTL
	}
	if s.sweepEvery <= 0 {
		s.sweepEvery = DefaultSweepEvery
	}
	s.pres.init()
	s.dir.init()
	s.lim.init()
	return s
}

// errTTL is returned for a ttl that is not positive.
var errTTL = errors.New("memstore: ttl must be positive")

func checkTTL(ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("%w, got %v", errTTL, ttl)
	}
	return nil
}

// begin checks the ctx and the room id shared by most methods.
func begin(ctx context.Context, id room.ID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	_, err := room.ParseID(string(id))
	return err
}

// sweeper decides when a write should sweep; guarded by its owner's mutex.
type sweeper struct{ next time.Time }

func (w *sweeper) due(now time.Time, every time.Duration) bool {
	if now.Before(w.next) {
		return false
	}
	w.next = now.Add(every)
	return true
}
