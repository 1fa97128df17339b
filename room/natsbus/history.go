package natsbus

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// HistoryLimit and HistoryMaxAge bound a room's history, as the ROOMS stream
// does (the last 50 messages per room, 24 h).
const (
	HistoryLimit  = 50
	HistoryMaxAge = 24 * time.Hour
)

// ring is a node's copy of a room's recent history, kept while the node has
// sessions in the room: loaded from JetStream once when the first session
// joins, then fed by the room's live subscription, so later joins and
// reconnects read memory instead of creating a consumer each.
type ring struct {
	ready chan struct{} // closed when loaded (or failed to load)
	mu    sync.Mutex
	err   error    // the load's error: History then reads JetStream
	msgs  [][]byte // oldest first, at most HistoryLimit
	ids   []string // msgs' ids
	early [][]byte // live messages that arrived during the load
}

func newRing() *ring { return &ring{ready: make(chan struct{})} }

// add appends a live message (it arrives before it is fanned out, so a joiner
// that reads the ring after joining misses nothing).
func (r *ring) add(b []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.ready:
		r.push(b, envelopeID(b))
	default:
		r.early = append(r.early, b)
	}
}

// push keeps b unless its id is known already; ids from several nodes'
// clocks may arrive out of order, so it inserts in id order.
func (r *ring) push(b []byte, id string) {
	i, found := slices.BinarySearch(r.ids, id)
	if found {
		return
	}
	r.ids = slices.Insert(r.ids, i, id)
	r.msgs = slices.Insert(r.msgs, i, b)
	if n := len(r.msgs) - HistoryLimit; n > 0 {
		r.ids = slices.Delete(r.ids, 0, n)
		r.msgs = slices.Delete(r.msgs, 0, n)
	}
}

// loaded installs what JetStream held, then what arrived meanwhile.
func (r *ring) loaded(stored [][]byte, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
	for _, b := range stored {
		r.push(b, envelopeID(b))
	}
	for _, b := range r.early {
		r.push(b, envelopeID(b))
	}
	r.early = nil
	close(r.ready)
}

// since returns the messages younger than HistoryMaxAge after id after;
// ok is false when the ring could not be loaded.
func (r *ring) since(ctx context.Context, after string, now time.Time) (out [][]byte, ok bool, err error) {
	select {
	case <-r.ready:
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return nil, false, nil
	}
	oldest := ulid.Timestamp(now.Add(-HistoryMaxAge))
	for i, id := range r.ids {
		if id <= after {
			continue
		}
		if u, err := ulid.ParseStrict(id); err == nil && u.Time() < oldest {
			continue
		}
		out = append(out, r.msgs[i])
	}
	return out, true, nil
}
