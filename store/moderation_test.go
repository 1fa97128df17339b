package store

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func testModeration(t *testing.T, db *DB) {
	ctx := t.Context()
	host := mustUser(t, db, "host", RoleStreamer)
	mod := mustUser(t, db, "mod", RoleViewer)
	troll := mustUser(t, db, "troll", RoleViewer)

	mustNil(t, db.SetModerator(ctx, "host", mod.ID, true))
	mustNil(t, db.SetModerator(ctx, "host", mod.ID, true)) // again: nothing changes
	if yes, err := db.IsModerator(ctx, "host", mod.ID); err != nil || !yes {
		t.Fatalf("IsModerator = %v, %v", yes, err)
	}
	mustNil(t, db.SetModerator(ctx, "host", mod.ID, false))
	if yes, _ := db.IsModerator(ctx, "host", mod.ID); yes {
		t.Fatal("still a moderator after removal")
	}
	if err := db.SetModerator(ctx, "nosuchroom", mod.ID, true); !errors.Is(err, ErrNotFound) {
		t.Fatalf("moderator of an unknown room: %v", err)
	}

	now := time.Now()
	if err := db.BanFromRoom(ctx, RoomBan{RoomID: "host", UserID: troll.ID, ByID: host.ID}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("ban without a reason: %v", err)
	}
	mustNil(t, db.BanFromRoom(ctx, RoomBan{RoomID: "host", UserID: troll.ID, Until: now.Add(time.Minute), Reason: "spam", ByID: host.ID}))
	b, ok, err := db.ActiveRoomBan(ctx, "host", troll.ID, now)
	if err != nil || !ok || b.Reason != "spam" || !b.Until.Equal(now.Add(time.Minute).Truncate(time.Millisecond)) {
		t.Fatalf("timeout in force: %+v %v %v", b, ok, err)
	}
	if _, ok, _ := db.ActiveRoomBan(ctx, "host", troll.ID, now.Add(2*time.Minute)); ok {
		t.Fatal("an expired timeout is still in force")
	}
	mustNil(t, db.BanFromRoom(ctx, RoomBan{RoomID: "host", UserID: troll.ID, Reason: "again", ByID: host.ID})) // replaces: until lifted
	if b, ok, _ := db.ActiveRoomBan(ctx, "host", troll.ID, now.Add(time.Hour)); !ok || !b.Until.IsZero() || b.Reason != "again" {
		t.Fatalf("permanent ban: %+v %v", b, ok)
	}
	mustNil(t, db.LiftRoomBan(ctx, "host", troll.ID))
	if _, ok, _ := db.ActiveRoomBan(ctx, "host", troll.ID, now); ok {
		t.Fatal("ban still in force after lifting")
	}

	mustNil(t, db.Audit(ctx, AuditEntry{ActorID: host.ID, Action: "room_timeout", RoomID: "host", TargetID: troll.ID, Reason: "spam"}))
	mustNil(t, db.Audit(ctx, AuditEntry{ActorID: host.ID, Action: "room_unban", RoomID: "host", TargetID: troll.ID}))
	if err := db.Audit(ctx, AuditEntry{Action: "x"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("audit without an actor: %v", err)
	}
	log, err := db.AuditLog(ctx, 10)
	mustNil(t, err)
	if len(log) != 2 || log[0].Action != "room_unban" || log[1].Reason != "spam" || log[1].At.IsZero() {
		t.Fatalf("audit log %+v", log)
	}
}

func testReports(t *testing.T, db *DB) {
	ctx := t.Context()
	host := mustUser(t, db, "rhost", RoleStreamer)
	fan := mustUser(t, db, "rfan", RoleViewer)
	if _, err := db.CreateReport(ctx, Report{ReporterID: fan.ID, RoomID: "rhost"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("report without a reason: %v", err)
	}
	if _, err := db.CreateReport(ctx, Report{ReporterID: fan.ID, RoomID: "nowhere", Reason: "x"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("report of an unknown room: %v", err)
	}
	r1, err := db.CreateReport(ctx, Report{ReporterID: fan.ID, RoomID: "rhost", MessageID: "01ARZ3NDEKTSV4RRFFQ69G5FAV", Reason: "insults"})
	mustNil(t, err)
	_, err = db.CreateReport(ctx, Report{ReporterID: fan.ID, RoomID: "rhost", Reason: "the whole stream"})
	mustNil(t, err)
	open, err := db.Reports(ctx, "open", 10)
	mustNil(t, err)
	if len(open) != 2 || open[1].ID != r1.ID || open[1].MessageID == "" || open[0].MessageID != "" {
		t.Fatalf("open reports %+v", open)
	}
	mustNil(t, db.ResolveReport(ctx, r1.ID, host.ID))
	if err := db.ResolveReport(ctx, r1.ID, host.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("resolving twice: %v", err)
	}
	done, _ := db.Reports(ctx, "resolved", 10)
	if len(done) != 1 || done[0].ResolvedBy != host.ID || done[0].ResolvedAt.IsZero() {
		t.Fatalf("resolved reports %+v", done)
	}
}

func testRoomChatRules(t *testing.T, db *DB) {
	ctx := t.Context()
	mustUser(t, db, "rules", RoleStreamer)
	slow, fo, age := 30, true, 60
	r, err := db.UpdateRoom(ctx, "rules", RoomPatch{SlowModeSeconds: &slow, FollowersOnly: &fo, MinAccountAgeMinutes: &age})
	mustNil(t, err)
	if r.SlowModeSeconds != 30 || !r.FollowersOnly || r.MinAccountAgeMinutes != 60 {
		t.Fatalf("rules %+v", r)
	}
	title := "kept"
	r, err = db.UpdateRoom(ctx, "rules", RoomPatch{Title: &title})
	mustNil(t, err)
	if r.SlowModeSeconds != 30 || !r.FollowersOnly || r.Title != "kept" {
		t.Fatalf("a title change lost the rules: %+v", r)
	}
	neg := -1
	if _, err := db.UpdateRoom(ctx, "rules", RoomPatch{SlowModeSeconds: &neg}); err == nil {
		t.Fatal("negative slow mode accepted")
	}
}

func testChatStanding(t *testing.T, db *DB) {
	ctx := t.Context()
	host := mustUser(t, db, "standing", RoleStreamer)
	fan := mustUser(t, db, "stfan", RoleViewer)
	mod := mustUser(t, db, "stmod", RoleViewer)
	slow, fo, age := 15, true, 30
	_, err := db.UpdateRoom(ctx, "standing", RoomPatch{SlowModeSeconds: &slow, FollowersOnly: &fo, MinAccountAgeMinutes: &age})
	mustNil(t, err)
	mustNil(t, db.SetModerator(ctx, "standing", mod.ID, true))
	s, err := db.ChatStanding(ctx, "standing", fan.ID)
	mustNil(t, err)
	if !s.RoomExists || s.Room.OwnerID != host.ID || s.Room.SlowModeSeconds != 15 || !s.Room.FollowersOnly || s.Room.MinAccountAgeMinutes != 30 ||
		s.Role != RoleViewer || s.CreatedAt.IsZero() || s.Moderator || s.Follows {
		t.Fatalf("a fan's standing %+v", s)
	}
	mustNil(t, db.Follow(ctx, fan.ID, host.ID))
	if s, _ = db.ChatStanding(ctx, "standing", fan.ID); !s.Follows {
		t.Fatalf("after following: %+v", s)
	}
	if s, _ = db.ChatStanding(ctx, "standing", mod.ID); !s.Moderator || s.Follows {
		t.Fatalf("the moderator's standing %+v", s)
	}
	if s, _ = db.ChatStanding(ctx, "standing", host.ID); s.Role != RoleStreamer || s.Room.OwnerID != host.ID {
		t.Fatalf("the streamer's standing %+v", s)
	}
	s, err = db.ChatStanding(ctx, "no-such-room", fan.ID)
	if err != nil || s.RoomExists || s.Role != RoleViewer {
		t.Fatalf("in a room with no record: %+v %v", s, err)
	}
	if _, err := db.ChatStanding(ctx, "standing", "01ARZ3NDEKTSV4RRFFQ69G5FAV"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("an unknown user: %v", err)
	}
}

func testDirectMessages(t *testing.T, db *DB) {
	ctx := t.Context()
	a := mustUser(t, db, "dma", RoleViewer)
	b := mustUser(t, db, "dmb", RoleViewer)
	c := mustUser(t, db, "dmc", RoleViewer)
	m1, err := db.SendDM(ctx, a.ID, b.ID, "hi b")
	mustNil(t, err)
	_, err = db.SendDM(ctx, a.ID, b.ID, "are you there")
	mustNil(t, err)
	m3, err := db.SendDM(ctx, b.ID, a.ID, "yes")
	mustNil(t, err)
	_, err = db.SendDM(ctx, c.ID, b.ID, "hello from c")
	mustNil(t, err)
	convs, err := db.Conversations(ctx, b.ID, 10)
	mustNil(t, err)
	if len(convs) != 2 || convs[0].OtherID != c.ID || convs[0].Unread != 1 || convs[1].OtherID != a.ID || convs[1].Unread != 2 || convs[1].Last.ID != m3.ID {
		t.Fatalf("conversations %+v", convs)
	}
	mustNil(t, db.MarkRead(ctx, b.ID, a.ID))
	convs, _ = db.Conversations(ctx, b.ID, 10)
	if convs[1].Unread != 0 {
		t.Fatalf("unread after MarkRead: %+v", convs[1])
	}
	page, next, err := db.DMHistory(ctx, a.ID, b.ID, "", 2)
	mustNil(t, err)
	if len(page) != 2 || page[0].ID != m3.ID || next == "" {
		t.Fatalf("first page %+v next %q", page, next)
	}
	page, next, _ = db.DMHistory(ctx, a.ID, b.ID, next, 2)
	if len(page) != 1 || page[0].ID != m1.ID || next != "" || page[0].At.IsZero() {
		t.Fatalf("last page %+v next %q", page, next)
	}
	mustNil(t, db.SetBlocked(ctx, b.ID, c.ID, true))
	if _, err := db.SendDM(ctx, c.ID, b.ID, "again"); !errors.Is(err, ErrBlocked) {
		t.Fatalf("blocked sender: %v", err)
	}
	mustNil(t, db.SetBlocked(ctx, b.ID, c.ID, false))
	_, err = db.SendDM(ctx, c.ID, b.ID, "again")
	mustNil(t, err)
	if _, err := db.SendDM(ctx, a.ID, a.ID, "me"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("message to self: %v", err)
	}
}

func testHeldMessages(t *testing.T, db *DB) {
	ctx := t.Context()
	host := mustUser(t, db, "hhost", RoleStreamer)
	fan := mustUser(t, db, "hfan", RoleViewer)
	mustUser(t, db, "hother", RoleStreamer)
	if _, err := db.HoldMessage(ctx, HeldMessage{RoomID: "hhost", UserID: fan.ID, Kind: "chat"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("holding an empty body: %v", err)
	}
	if _, err := db.HoldMessage(ctx, HeldMessage{RoomID: "nowhere", UserID: fan.ID, UserName: "hfan", Kind: "chat", Body: `{"text":"x"}`}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("holding in an unknown room: %v", err)
	}
	first, err := db.HoldMessage(ctx, HeldMessage{RoomID: "hhost", UserID: fan.ID, UserName: "hfan", Kind: "chat", Body: `{"text":"one"}`})
	mustNil(t, err)
	second, err := db.HoldMessage(ctx, HeldMessage{RoomID: "hhost", UserID: fan.ID, UserName: "hfan", Kind: "danmaku", Body: `{"text":"two","color":"#ff0000"}`})
	mustNil(t, err)
	if first.Status != HeldPending || first.At.IsZero() || first.ID >= second.ID {
		t.Fatalf("held %+v then %+v", first, second)
	}
	pending, err := db.HeldMessages(ctx, "hhost", 10)
	mustNil(t, err)
	if len(pending) != 2 || pending[0].ID != first.ID || pending[1].Body != second.Body || pending[1].Kind != "danmaku" || pending[0].UserName != "hfan" {
		t.Fatalf("pending %+v", pending)
	}
	if other, _ := db.HeldMessages(ctx, "hother", 10); len(other) != 0 {
		t.Fatalf("another room sees %+v", other)
	}
	// A decision in the wrong room, or a second decision, finds nothing.
	if _, err := db.DecideHeld(ctx, "hother", first.ID, HeldApproved, host.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deciding in another room: %v", err)
	}
	m, err := db.DecideHeld(ctx, "hhost", first.ID, HeldApproved, host.ID)
	mustNil(t, err)
	if m.Status != HeldApproved || m.Body != first.Body || m.UserID != fan.ID {
		t.Fatalf("approved %+v", m)
	}
	if _, err := db.DecideHeld(ctx, "hhost", first.ID, HeldRejected, host.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("rejecting an approved message: %v", err)
	}
	// An approval whose publication failed goes back to the queue.
	_, err = db.DecideHeld(ctx, "hhost", first.ID, HeldPending, host.ID)
	mustNil(t, err)
	_, err = db.DecideHeld(ctx, "hhost", second.ID, HeldRejected, host.ID)
	mustNil(t, err)
	pending, _ = db.HeldMessages(ctx, "hhost", 10)
	if len(pending) != 1 || pending[0].ID != first.ID {
		t.Fatalf("after reopening one and rejecting the other: %+v", pending)
	}
	if _, err := db.DecideHeld(ctx, "hhost", first.ID, "maybe", host.ID); !errors.Is(err, ErrInvalid) {
		t.Fatalf("an unknown status: %v", err)
	}
	// Concurrent decisions: exactly one wins.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := db.DecideHeld(ctx, "hhost", first.ID, HeldApproved, host.ID); err == nil {
				wins.Add(1)
			} else if !errors.Is(err, ErrNotFound) {
				t.Errorf("a losing decision: %v", err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d decisions won, want 1", wins.Load())
	}
}
