package signaling

import (
	"sync"

	"github.com/onair-live/onair/room"
)

// presenceKey names one user in one room.
type presenceKey struct {
	room room.ID
	user string
}

// sessions knows which local sessions (sockets, data channels, WHEP peers)
// belong to which logged-in user in which room, so a kick can close them.
type sessions struct {
	mu sync.Mutex
	m  map[presenceKey]map[*func()]struct{}
}

// add registers a closer; the returned func unregisters it.
func (s *sessions) add(id room.ID, user string, closeFn func()) (remove func()) {
	k := presenceKey{id, user}
	p := &closeFn
	s.mu.Lock()
	if s.m == nil {
		s.m = map[presenceKey]map[*func()]struct{}{}
	}
	if s.m[k] == nil {
		s.m[k] = map[*func()]struct{}{}
	}
	s.m[k][p] = struct{}{}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.m[k], p)
		if len(s.m[k]) == 0 {
			delete(s.m, k)
		}
		s.mu.Unlock()
	}
}

// kick closes every local session of user in room (in every room when id is
// empty: a platform ban); closers run without the lock.
func (s *sessions) kick(id room.ID, user string) int {
	s.mu.Lock()
	var fns []func()
	for k, set := range s.m {
		if k.user != user || (id != "" && k.room != id) {
			continue
		}
		for p := range set {
			fns = append(fns, *p)
		}
	}
	s.mu.Unlock()
	for _, f := range fns {
		f()
	}
	return len(fns)
}

// Kick closes a user's sessions in a room on this node: call it for every kick
// the bus delivers.
func (s *Server) Kick(id room.ID, userID string) { s.local.kick(id, userID) }
