package payment

import (
	"context"
	"sync"
	"time"
)

var _ ReplayGuard = (*MemoryGuard)(nil)

// sweepEvery is how often, at most, Seen sweeps out lapsed records.
const sweepEvery = time.Minute

// MemoryGuard is a ReplayGuard in process memory: enough for one node, since
// the ledger, not the guard, makes credits exactly-once. Records are swept
// out once past their time, so memory holds one window of events.
type MemoryGuard struct {
	now func() time.Time

	mu        sync.Mutex // guards seen and nextSweep
	seen      map[guardKey]time.Time
	nextSweep time.Time
}

type guardKey struct{ provider, event string }

// NewMemoryGuard returns an empty guard on the clock now (nil: time.Now).
func NewMemoryGuard(now func() time.Time) *MemoryGuard {
	if now == nil {
		now = time.Now
	}
	return &MemoryGuard{now: now, seen: make(map[guardKey]time.Time)}
}

// Seen implements ReplayGuard.
func (g *MemoryGuard) Seen(ctx context.Context, provider, eventID string, until time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := g.now()
	k := guardKey{provider, eventID}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !now.Before(g.nextSweep) {
		g.nextSweep = now.Add(sweepEvery)
		for k, t := range g.seen {
			if !t.After(now) {
				delete(g.seen, k)
			}
		}
	}
	if t, ok := g.seen[k]; ok && t.After(now) {
		return true, nil
	}
	if until.After(now) {
		g.seen[k] = until
	}
	return false, nil
}

// Forget implements ReplayGuard.
func (g *MemoryGuard) Forget(ctx context.Context, provider, eventID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	g.mu.Lock()
	delete(g.seen, guardKey{provider, eventID})
	g.mu.Unlock()
	return nil
}

// Len is how many records the guard holds.
func (g *MemoryGuard) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.seen)
}
