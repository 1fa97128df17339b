package roomtest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/onair-live/onair/room"
)

// RunDirectory runs the room.Directory cases.
func RunDirectory(t *testing.T, newEnv Factory) {
	cases := []struct {
		name string
		f    func(t *testing.T, e Env)
	}{
		{"SetListRemove", dirSetListRemove},
		{"SetLiveReplaces", dirReplaces},
		{"Expiry", dirExpiry},
		{"RenewExtends", dirRenew},
		{"BadInput", dirBadInput},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.f(t, newEnv(t)) })
	}
}

var started = time.Date(2030, 1, 1, 12, 0, 0, 123456789, time.FixedZone("UTC+2", 2*3600))

func live(id room.ID, node string) room.LiveRoom {
	return room.LiveRoom{ID: id, Node: node, StartedAt: started}
}

func setLive(t *testing.T, e Env, r room.LiveRoom, ttl time.Duration) {
	t.Helper()
	if err := e.Directory.SetLive(ctx(t), r, ttl); err != nil {
		t.Fatalf("SetLive(%s, %v): %v", r.ID, ttl, err)
	}
}

func remove(t *testing.T, e Env, id room.ID) {
	t.Helper()
	if err := e.Directory.Remove(ctx(t), id); err != nil {
		t.Fatalf("Remove(%s): %v", id, err)
	}
}

func list(t *testing.T, e Env) []room.LiveRoom {
	t.Helper()
	rs, err := e.Directory.List(ctx(t))
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return rs
}

func same(got, want []room.LiveRoom) bool {
	return slices.EqualFunc(got, want, func(a, b room.LiveRoom) bool {
		return a.ID == b.ID && a.Node == b.Node && a.StartedAt.Equal(b.StartedAt)
	})
}

func wantList(t *testing.T, e Env, want ...room.LiveRoom) {
	t.Helper()
	if got := list(t, e); !same(got, want) {
		t.Fatalf("List = %+v, want %+v (sorted by ID)", got, want)
	}
}

func dirSetListRemove(t *testing.T, e Env) {
	wantList(t, e)
	b, a := live("room-b", nodeB), live("room-a", nodeA)
	setLive(t, e, b, long)
	setLive(t, e, a, long)
	wantList(t, e, a, b)
	remove(t, e, "room-a")
	wantList(t, e, b)
	remove(t, e, "room-a") // not listed: no error
	remove(t, e, "room-never")
	wantList(t, e, b)
	remove(t, e, "room-b")
	wantList(t, e)
}

func dirReplaces(t *testing.T, e Env) {
	setLive(t, e, live(r1, nodeA), long)
	moved := live(r1, nodeB)
	moved.StartedAt = started.Add(time.Minute)
	setLive(t, e, moved, long)
	wantList(t, e, moved)
}

func dirExpiry(t *testing.T, e Env) {
	stays, goes := live(r1, nodeA), live(r2, nodeB)
	setLive(t, e, stays, long)
	setLive(t, e, goes, short)
	e.Advance(2 * short)
	var last []room.LiveRoom
	if !Eventually(func() bool { last = list(t, e); return same(last, []room.LiveRoom{stays}) }) {
		t.Fatalf("List = %+v, want only %s once %s's TTL passed", last, stays.ID, goes.ID)
	}
	setLive(t, e, goes, long) // back again
	wantList(t, e, stays, goes)
}

func dirRenew(t *testing.T, e Env) {
	r := live(r1, nodeA)
	setLive(t, e, r, long)
	e.Advance(long * 3 / 4)
	setLive(t, e, r, long)
	e.Advance(long * 3 / 4) // past the first deadline, inside the second
	wantList(t, e, r)
}

func dirBadInput(t *testing.T, e Env) {
	c := ctx(t)
	bad := live("Not A Room", nodeA)
	if err := e.Directory.SetLive(c, bad, long); !errors.Is(err, room.ErrBadID) {
		t.Errorf("SetLive bad room: %v, want room.ErrBadID", err)
	}
	if err := e.Directory.Remove(c, bad.ID); !errors.Is(err, room.ErrBadID) {
		t.Errorf("Remove bad room: %v, want room.ErrBadID", err)
	}
	if err := e.Directory.SetLive(c, live(r1, nodeA), 0); err == nil {
		t.Error("SetLive with ttl 0: no error")
	}
	gone := cancelled()
	if err := e.Directory.SetLive(gone, live(r1, nodeA), long); !errors.Is(err, context.Canceled) {
		t.Errorf("SetLive with a cancelled ctx: %v, want context.Canceled", err)
	}
	if err := e.Directory.Remove(gone, r1); !errors.Is(err, context.Canceled) {
		t.Errorf("Remove with a cancelled ctx: %v, want context.Canceled", err)
	}
	if _, err := e.Directory.List(gone); !errors.Is(err, context.Canceled) {
		t.Errorf("List with a cancelled ctx: %v, want context.Canceled", err)
	}
	wantList(t, e)
}
