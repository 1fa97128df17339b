package roomtest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/onair-live/onair/room"
)

// RunPresence runs the room.Presence cases.
func RunPresence(t *testing.T, newEnv Factory) {
	cases := []struct {
		name string
		f    func(t *testing.T, e Env)
	}{
		{"JoinLeaveCount", presenceJoinLeaveCount},
		{"JoinTwiceCountsOnce", presenceJoinTwice},
		{"LeaveUnknown", presenceLeaveUnknown},
		{"RoomsAreSeparate", presenceRoomsSeparate},
		{"CountsAcrossNodes", presenceAcrossNodes},
		{"NodeThatStopsRenewingDropsOut", presenceStopsRenewing},
		{"RenewExtends", presenceRenewExtends},
		{"LapsedNodeDoesNotComeBack", presenceLapsed},
		{"ConcurrentJoins", presenceConcurrent},
		{"BadInput", presenceBadInput},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.f(t, newEnv(t)) })
	}
}

const (
	nodeA = "node-a"
	nodeB = "node-b"
	r1    = room.ID("room-1")
	r2    = room.ID("room-2")
)

func join(t *testing.T, e Env, id room.ID, node, session string) {
	t.Helper()
	if err := e.Presence.Join(ctx(t), id, node, session); err != nil {
		t.Fatalf("Join(%s, %s, %s): %v", id, node, session, err)
	}
}

func leave(t *testing.T, e Env, id room.ID, node, session string) {
	t.Helper()
	if err := e.Presence.Leave(ctx(t), id, node, session); err != nil {
		t.Fatalf("Leave(%s, %s, %s): %v", id, node, session, err)
	}
}

func renew(t *testing.T, e Env, node string, ttl time.Duration) {
	t.Helper()
	if err := e.Presence.Renew(ctx(t), node, ttl); err != nil {
		t.Fatalf("Renew(%s, %v): %v", node, ttl, err)
	}
}

func count(t *testing.T, e Env, id room.ID) int {
	t.Helper()
	n, err := e.Presence.Count(ctx(t), id)
	if err != nil {
		t.Fatalf("Count(%s): %v", id, err)
	}
	return n
}

func wantCount(t *testing.T, e Env, id room.ID, want int) {
	t.Helper()
	if got := count(t, e, id); got != want {
		t.Fatalf("Count(%s) = %d, want %d", id, got, want)
	}
}

func eventuallyCount(t *testing.T, e Env, id room.ID, want int) {
	t.Helper()
	last := -1
	if !Eventually(func() bool { last = count(t, e, id); return last == want }) {
		t.Fatalf("Count(%s) = %d, want %d once the lease lapsed", id, last, want)
	}
}

func presenceJoinLeaveCount(t *testing.T, e Env) {
	wantCount(t, e, r1, 0)
	join(t, e, r1, nodeA, "s1")
	join(t, e, r1, nodeA, "s2")
	wantCount(t, e, r1, 2)
	leave(t, e, r1, nodeA, "s1")
	wantCount(t, e, r1, 1)
	leave(t, e, r1, nodeA, "s2")
	wantCount(t, e, r1, 0)
	join(t, e, r1, nodeA, "s1")
	wantCount(t, e, r1, 1)
}

func presenceJoinTwice(t *testing.T, e Env) {
	join(t, e, r1, nodeA, "s1")
	join(t, e, r1, nodeA, "s1")
	wantCount(t, e, r1, 1)
	leave(t, e, r1, nodeA, "s1")
	wantCount(t, e, r1, 0)
}

func presenceLeaveUnknown(t *testing.T, e Env) {
	leave(t, e, r1, nodeA, "nobody") // unknown node, room and session
	join(t, e, r1, nodeA, "s1")
	leave(t, e, r1, nodeA, "nobody")
	leave(t, e, r1, nodeB, "s1") // same session id, other node
	leave(t, e, r2, nodeA, "s1") // same session id, other room
	wantCount(t, e, r1, 1)
	leave(t, e, r1, nodeA, "s1")
	leave(t, e, r1, nodeA, "s1")
	wantCount(t, e, r1, 0)
}

func presenceRoomsSeparate(t *testing.T, e Env) {
	join(t, e, r1, nodeA, "s1")
	join(t, e, r2, nodeA, "s1")
	join(t, e, r2, nodeA, "s2")
	wantCount(t, e, r1, 1)
	wantCount(t, e, r2, 2)
	leave(t, e, r2, nodeA, "s1")
	wantCount(t, e, r1, 1)
	wantCount(t, e, r2, 1)
}

func presenceAcrossNodes(t *testing.T, e Env) {
	renew(t, e, nodeA, long)
	renew(t, e, nodeB, long)
	join(t, e, r1, nodeA, "s1")
	join(t, e, r1, nodeA, "s2")
	join(t, e, r1, nodeB, "s3")
	join(t, e, r1, nodeB, "s1") // a session is node/session: two viewers
	wantCount(t, e, r1, 4)
	leave(t, e, r1, nodeA, "s1")
	wantCount(t, e, r1, 3)
}

// A node gives a short TTL on its last Renew and then dies: after that TTL its
// viewers no longer count, while the other node's viewers stay.
func presenceStopsRenewing(t *testing.T, e Env) {
	renew(t, e, nodeA, long)
	renew(t, e, nodeB, long)
	join(t, e, r1, nodeA, "a1")
	join(t, e, r1, nodeA, "a2")
	join(t, e, r2, nodeA, "a3")
	join(t, e, r1, nodeB, "b1")
	wantCount(t, e, r1, 3)

	renew(t, e, nodeA, short) // node A's last word
	e.Advance(2 * short)
	eventuallyCount(t, e, r1, 1)
	eventuallyCount(t, e, r2, 0)

	e.Advance(long / 2)
	renew(t, e, nodeB, long)
	e.Advance(long / 2)
	wantCount(t, e, r1, 1)
	join(t, e, r1, nodeB, "b2")
	wantCount(t, e, r1, 2)
}

func presenceRenewExtends(t *testing.T, e Env) {
	renew(t, e, nodeA, long)
	join(t, e, r1, nodeA, "s1")
	e.Advance(long * 3 / 4)
	renew(t, e, nodeA, long)
	e.Advance(long * 3 / 4) // past the first deadline, inside the second
	wantCount(t, e, r1, 1)
	join(t, e, r1, nodeA, "s2") // joins the renewed lease
	wantCount(t, e, r1, 2)
}

func presenceLapsed(t *testing.T, e Env) {
	renew(t, e, nodeA, short)
	join(t, e, r1, nodeA, "s1")
	e.Advance(2 * short)
	eventuallyCount(t, e, r1, 0)
	renew(t, e, nodeA, long)
	wantCount(t, e, r1, 0) // the lapsed sessions stay gone
	join(t, e, r1, nodeA, "s2")
	wantCount(t, e, r1, 1)
}

func presenceConcurrent(t *testing.T, e Env) {
	noLeak(t)
	const workers, each = 16, 20
	renew(t, e, nodeA, long)
	renew(t, e, nodeB, long)
	c := ctx(t)
	errs := make(chan error, workers)
	parallel(workers, func(i int) {
		node := []string{nodeA, nodeB}[i%2]
		for j := range each {
			s := fmt.Sprintf("s%d-%d", i, j)
			if err := e.Presence.Join(c, r1, node, s); err != nil {
				errs <- err
				return
			}
			if j%2 == 1 { // leave every other one again
				if err := e.Presence.Leave(c, r1, node, s); err != nil {
					errs <- err
					return
				}
			}
			if _, err := e.Presence.Count(c, r1); err != nil {
				errs <- err
				return
			}
		}
	})
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	wantCount(t, e, r1, workers*each/2)
}

func presenceBadInput(t *testing.T, e Env) {
	c := ctx(t)
	bad := room.ID("Not A Room")
	for name, err := range map[string]error{
		"Join bad room":  e.Presence.Join(c, bad, nodeA, "s1"),
		"Leave bad room": e.Presence.Leave(c, bad, nodeA, "s1"),
	} {
		if !errors.Is(err, room.ErrBadID) {
			t.Errorf("%s: %v, want room.ErrBadID", name, err)
		}
	}
	if _, err := e.Presence.Count(c, bad); !errors.Is(err, room.ErrBadID) {
		t.Errorf("Count bad room: %v, want room.ErrBadID", err)
	}
	for name, err := range map[string]error{
		"Join empty node":     e.Presence.Join(c, r1, "", "s1"),
		"Join empty session":  e.Presence.Join(c, r1, nodeA, ""),
		"Leave empty session": e.Presence.Leave(c, r1, nodeA, ""),
		"Renew empty node":    e.Presence.Renew(c, "", long),
		"Renew zero ttl":      e.Presence.Renew(c, nodeA, 0),
		"Renew negative ttl":  e.Presence.Renew(c, nodeA, -time.Second),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	gone := cancelled()
	for name, err := range map[string]error{
		"Join":  e.Presence.Join(gone, r1, nodeA, "s1"),
		"Leave": e.Presence.Leave(gone, r1, nodeA, "s1"),
		"Renew": e.Presence.Renew(gone, nodeA, long),
	} {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled ctx: %v, want context.Canceled", name, err)
		}
	}
	if _, err := e.Presence.Count(gone, r1); !errors.Is(err, context.Canceled) {
		t.Errorf("Count with a cancelled ctx: %v, want context.Canceled", err)
	}
	wantCount(t, e, r1, 0)
}
