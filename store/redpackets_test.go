package store

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

func newTestPacket(key, room string, split ...int64) RedPacket {
	var coins int64
	for _, c := range split {
		coins += c
	}
	return RedPacket{CreateKey: key, RoomID: room, SenderID: "u-sender", SenderName: "sender", Coins: coins, Shares: len(split),
		Split: split, CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
}

func mustOpenPacket(t *testing.T, db *DB, p RedPacket) RedPacket {
	t.Helper()
	p, created, err := db.CreateRedPacket(t.Context(), p)
	mustNil(t, err)
	if !created {
		t.Fatalf("packet %s existed", p.CreateKey)
	}
	mustNil(t, db.OpenRedPacket(t.Context(), p.ID, "txn-"+p.ID))
	return p
}

func testRedPackets(t *testing.T, db *DB) {
	ctx := t.Context()
	t.Run("CreateIsIdempotentPerKey", func(t *testing.T) {
		p, created, err := db.CreateRedPacket(ctx, newTestPacket("k1", "room1", 5, 3, 2))
		mustNil(t, err)
		if !created || p.Status != RedPacketPending || p.ID == "" || !p.AttemptAt.Equal(msTime(t0)) || !p.CreatedAt.Equal(msTime(t0)) {
			t.Fatalf("created %+v (%v)", p, created)
		}
		again, created, err := db.CreateRedPacket(ctx, newTestPacket("k1", "room1", 9, 1))
		mustNil(t, err)
		if created || again.ID != p.ID || !slices.Equal(again.Split, []int64{5, 3, 2}) || again.Coins != 10 {
			t.Fatalf("the same key again: %+v (%v), want the first packet unchanged", again, created)
		}
		got, err := db.RedPacket(ctx, p.ID)
		mustNil(t, err)
		if !samePacket(got, p) {
			t.Fatalf("stored %+v, want %+v", got, p)
		}
		if byKey, err := db.RedPacketByKey(ctx, "k1"); err != nil || !samePacket(byKey, p) {
			t.Fatalf("by key: %+v, %v", byKey, err)
		}
		_, err = db.RedPacket(ctx, "nope")
		wantErr(t, err, ErrNotFound)
		_, err = db.RedPacketByKey(ctx, "nope")
		wantErr(t, err, ErrNotFound)
	})
	t.Run("CreateInvalid", func(t *testing.T) {
		for name, p := range map[string]RedPacket{
			"sum":     func() RedPacket { p := newTestPacket("bad1", "r", 1, 2); p.Coins = 4; return p }(),
			"zero":    newTestPacket("bad2", "r", 3, 0),
			"nokey":   newTestPacket("", "r", 1),
			"expired": func() RedPacket { p := newTestPacket("bad3", "r", 1); p.ExpiresAt = p.CreatedAt; return p }(),
			"split":   func() RedPacket { p := newTestPacket("bad4", "r", 1, 1); p.Shares = 3; return p }(),
		} {
			if _, _, err := db.CreateRedPacket(ctx, p); !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: %v, want ErrInvalid", name, err)
			}
		}
	})
	t.Run("AttemptsOpenAndCancel", func(t *testing.T) {
		p, _, err := db.CreateRedPacket(ctx, newTestPacket("k2", "room1", 4))
		mustNil(t, err)
		if _, err := db.GrabRedPacket(ctx, p.ID, "u1", "one", t0); !errors.Is(err, ErrNotFound) {
			t.Fatalf("grab of a pending packet: %v, want ErrNotFound", err)
		}
		// A cancel from an older attempt changes nothing.
		later := t0.Add(time.Second)
		got, started, err := db.StartRedPacketAttempt(ctx, p.ID, later)
		mustNil(t, err)
		if !started || !got.AttemptAt.Equal(msTime(later)) || !got.CreatedAt.Equal(msTime(t0)) || !got.ExpiresAt.Equal(msTime(t0.Add(time.Minute))) {
			t.Fatalf("an attempt on a pending packet: %+v, %v", got, started)
		}
		if ok, err := db.CancelRedPacket(ctx, p.ID, t0); err != nil || ok {
			t.Fatalf("cancel of a superseded attempt: %v, %v", ok, err)
		}
		if ok, err := db.CancelRedPacket(ctx, p.ID, later); err != nil || !ok {
			t.Fatalf("cancel: %v, %v", ok, err)
		}
		got, _ = db.RedPacket(ctx, p.ID)
		if got.Status != RedPacketCanceled {
			t.Fatalf("status %s after cancel", got.Status)
		}
		// A canceled packet is pending again for a new attempt, and opens.
		got, started, err = db.StartRedPacketAttempt(ctx, p.ID, later.Add(time.Second))
		mustNil(t, err)
		restart := msTime(later.Add(time.Second))
		if !started || got.Status != RedPacketPending || !got.AttemptAt.Equal(restart) || !got.CreatedAt.Equal(restart) || !got.ExpiresAt.Equal(restart.Add(time.Minute)) {
			t.Fatalf("restarted: %+v, %v", got, started)
		}
		mustNil(t, db.OpenRedPacket(ctx, p.ID, "T1"))
		mustNil(t, db.OpenRedPacket(ctx, p.ID, "T1")) // again: no change
		got, started, err = db.StartRedPacketAttempt(ctx, p.ID, later)
		mustNil(t, err)
		if started || got.Status != RedPacketOpen || got.CreateTxn != "T1" {
			t.Fatalf("an attempt on an open packet: %+v, %v", got, started)
		}
		if ok, _ := db.CancelRedPacket(ctx, p.ID, got.AttemptAt); ok {
			t.Fatal("an open packet was canceled")
		}
		wantErr(t, db.OpenRedPacket(ctx, "nope", "T"), ErrNotFound)
	})
	t.Run("GrabInOrderUntilEmpty", func(t *testing.T) {
		p := mustOpenPacket(t, db, newTestPacket("k3", "room2", 7, 2, 1))
		var got []RedPacketGrab
		for i, u := range []string{"a", "b", "c"} {
			g, err := db.GrabRedPacket(ctx, p.ID, "u-"+u, u, t0.Add(time.Duration(i)*time.Second))
			mustNil(t, err)
			got = append(got, g)
		}
		for i, g := range got {
			want := RedPacketGrab{PacketID: p.ID, RoomID: "room2", Share: i, Coins: p.Split[i], Left: 2 - i, UserID: "u-" + string("abc"[i]),
				UserName: string("abc"[i]), At: msTime(t0.Add(time.Duration(i) * time.Second))}
			if g != want {
				t.Errorf("grab %d: %+v, want %+v", i, g, want)
			}
		}
		_, err := db.GrabRedPacket(ctx, p.ID, "u-d", "d", t0)
		wantErr(t, err, ErrRedPacketEmpty)
		mine, err := db.GrabRedPacket(ctx, p.ID, "u-b", "b", t0)
		wantErr(t, err, ErrAlreadyGrabbed)
		if mine != got[1] {
			t.Fatalf("already grabbed returns %+v, want %+v", mine, got[1])
		}
		ended, _ := db.RedPacket(ctx, p.ID)
		if ended.Status != RedPacketEnded || ended.Claimed != 3 || !ended.EndedAt.Equal(msTime(t0.Add(2*time.Second))) {
			t.Fatalf("after the last share: %+v", ended)
		}
		all, err := db.RedPacketGrabs(ctx, p.ID)
		mustNil(t, err)
		if !slices.Equal(all, got) {
			t.Fatalf("grabs %+v, want %+v", all, got)
		}
		// Settling: every share paid before it is done; nothing to refund.
		if err := db.FinishRedPacket(ctx, p.ID, 0, ""); !errors.Is(err, ErrConflict) {
			t.Fatalf("finish with unpaid grabs: %v", err)
		}
		unpaid, err := db.UnpaidRedPacketGrabs(ctx, t0.Add(90*time.Minute), 0)
		mustNil(t, err)
		if n := len(filterGrabs(unpaid, p.ID)); n != 3 {
			t.Fatalf("%d unpaid, want 3", n)
		}
		for _, g := range got {
			mustNil(t, db.MarkRedPacketGrabPaid(ctx, p.ID, g.Share, fmt.Sprintf("pay%d", g.Share)))
		}
		mustNil(t, db.MarkRedPacketGrabPaid(ctx, p.ID, 0, "other")) // paid already: keeps the first
		wantErr(t, db.MarkRedPacketGrabPaid(ctx, p.ID, 9, "x"), ErrNotFound)
		all, _ = db.RedPacketGrabs(ctx, p.ID)
		if all[0].PaidTxn != "pay0" {
			t.Fatalf("share 0 paid by %q", all[0].PaidTxn)
		}
		unpaid, _ = db.UnpaidRedPacketGrabs(ctx, t0.Add(90*time.Minute), 0)
		if n := len(filterGrabs(unpaid, p.ID)); n != 0 {
			t.Fatalf("%d unpaid after paying", n)
		}
		if err := db.FinishRedPacket(ctx, p.ID, 1, "R"); !errors.Is(err, ErrConflict) {
			t.Fatalf("a refund of an empty packet: %v", err)
		}
		mustNil(t, db.FinishRedPacket(ctx, p.ID, 0, ""))
		mustNil(t, db.FinishRedPacket(ctx, p.ID, 0, ""))
		done, _ := db.RedPacket(ctx, p.ID)
		if done.Status != RedPacketDone || done.Refunded != 0 || done.RefundTxn != "" {
			t.Fatalf("done: %+v", done)
		}
	})
	t.Run("ExpiryEndsAndRefunds", func(t *testing.T) {
		p := mustOpenPacket(t, db, newTestPacket("k4", "room3", 3, 3, 4))
		g, err := db.GrabRedPacket(ctx, p.ID, "u-a", "a", t0.Add(59*time.Second))
		mustNil(t, err)
		if _, err := db.GrabRedPacket(ctx, p.ID, "u-b", "b", p.ExpiresAt); !errors.Is(err, ErrRedPacketExpired) {
			t.Fatalf("a grab at the expiry: %v", err)
		}
		open, err := db.OpenRedPackets(ctx, "room3", t0, 0)
		mustNil(t, err)
		if len(open) != 1 || open[0].ID != p.ID || open[0].Claimed != 1 || open[0].Split != nil {
			t.Fatalf("open packets: %+v", open)
		}
		if open, _ := db.OpenRedPackets(ctx, "room3", p.ExpiresAt, 0); len(open) != 0 {
			t.Fatalf("open at the expiry: %+v", open)
		}
		due, err := db.DueRedPackets(ctx, t0, t0, 0)
		mustNil(t, err)
		if slices.ContainsFunc(due, func(d RedPacket) bool { return d.ID == p.ID }) {
			t.Fatal("due before its expiry")
		}
		if ended, err := db.EndRedPacket(ctx, p.ID, p.ExpiresAt.Add(-time.Millisecond)); err != nil || ended {
			t.Fatalf("end before expiry: %v, %v", ended, err)
		}
		due, _ = db.DueRedPackets(ctx, p.ExpiresAt, t0, 0)
		if !slices.ContainsFunc(due, func(d RedPacket) bool { return d.ID == p.ID && d.Status == RedPacketOpen }) {
			t.Fatalf("not due at its expiry: %+v", due)
		}
		if ended, err := db.EndRedPacket(ctx, p.ID, p.ExpiresAt); err != nil || !ended {
			t.Fatalf("end at expiry: %v, %v", ended, err)
		}
		if ended, _ := db.EndRedPacket(ctx, p.ID, p.ExpiresAt); ended {
			t.Fatal("ended twice")
		}
		_, err = db.GrabRedPacket(ctx, p.ID, "u-b", "b", t0)
		wantErr(t, err, ErrRedPacketExpired) // ended: whatever the caller's clock says
		due, _ = db.DueRedPackets(ctx, t0, t0, 0)
		if !slices.ContainsFunc(due, func(d RedPacket) bool { return d.ID == p.ID && d.Status == RedPacketEnded }) {
			t.Fatalf("an ended packet is not due: %+v", due)
		}
		mustNil(t, db.MarkRedPacketGrabPaid(ctx, p.ID, g.Share, "P"))
		if err := db.FinishRedPacket(ctx, p.ID, 6, "R"); !errors.Is(err, ErrConflict) {
			t.Fatalf("a refund of 6 where 7 are left: %v", err)
		}
		if err := db.FinishRedPacket(ctx, p.ID, 7, ""); !errors.Is(err, ErrInvalid) {
			t.Fatalf("a refund without its transaction: %v", err)
		}
		mustNil(t, db.FinishRedPacket(ctx, p.ID, 7, "R"))
		done, _ := db.RedPacket(ctx, p.ID)
		if done.Status != RedPacketDone || done.Refunded != 7 || done.RefundTxn != "R" {
			t.Fatalf("done: %+v", done)
		}
		due, _ = db.DueRedPackets(ctx, t0.Add(time.Hour), t0, 0)
		if slices.ContainsFunc(due, func(d RedPacket) bool { return d.ID == p.ID }) {
			t.Fatal("a done packet is due")
		}
	})
	t.Run("StalePendingIsDue", func(t *testing.T) {
		p, _, err := db.CreateRedPacket(ctx, newTestPacket("k5", "room4", 1))
		mustNil(t, err)
		isDue := func(stale time.Time) bool {
			due, err := db.DueRedPackets(ctx, t0, stale, 0)
			mustNil(t, err)
			return slices.ContainsFunc(due, func(d RedPacket) bool { return d.ID == p.ID })
		}
		if isDue(t0) || !isDue(t0.Add(time.Millisecond)) {
			t.Fatal("a pending packet is due exactly when its attempt is older than the staleness bound")
		}
	})
	t.Run("UserGrabs", func(t *testing.T) {
		p1 := mustOpenPacket(t, db, newTestPacket("k6", "room5", 1, 1))
		p2 := mustOpenPacket(t, db, newTestPacket("k7", "room5", 2))
		_, err := db.GrabRedPacket(ctx, p2.ID, "u-z", "z", t0)
		mustNil(t, err)
		mine, err := db.UserRedPacketGrabs(ctx, "u-z", []string{p1.ID, p2.ID})
		mustNil(t, err)
		if len(mine) != 1 || mine[p2.ID].Coins != 2 {
			t.Fatalf("mine: %+v", mine)
		}
		if none, err := db.UserRedPacketGrabs(ctx, "u-z", nil); err != nil || len(none) != 0 {
			t.Fatalf("of no packets: %v, %v", none, err)
		}
	})
	t.Run("ConcurrentGrabs", func(t *testing.T) {
		// Few enough connections for a shared PostgreSQL server (the store's
		// pool has no bound; economy/redpacket bounds its own grabs).
		const users, shares = 10, 4
		split := make([]int64, shares)
		for i := range split {
			split[i] = int64(i + 1)
		}
		p := mustOpenPacket(t, db, newTestPacket("k8", "room6", split...))
		var mu sync.Mutex
		won := map[string]RedPacketGrab{}
		errs := map[error]int{}
		var wg sync.WaitGroup
		for i := range users {
			for range 2 { // each user twice at once
				wg.Go(func() {
					user := fmt.Sprintf("u%02d", i)
					g, err := db.GrabRedPacket(ctx, p.ID, user, user, t0)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						if _, dup := won[user]; dup {
							t.Errorf("%s won twice", user)
						}
						won[user] = g
					case errors.Is(err, ErrRedPacketEmpty):
						errs[ErrRedPacketEmpty]++
					case errors.Is(err, ErrAlreadyGrabbed):
						errs[ErrAlreadyGrabbed]++
					default:
						t.Errorf("%s: %v", user, err)
					}
				})
			}
		}
		wg.Wait()
		if len(won) != shares {
			t.Fatalf("%d winners, want %d (%v)", len(won), shares, errs)
		}
		seen := map[int]bool{}
		var sum int64
		for _, g := range won {
			if seen[g.Share] || g.Coins != split[g.Share] {
				t.Errorf("grab %+v", g)
			}
			seen[g.Share] = true
			sum += g.Coins
		}
		if sum != p.Coins {
			t.Fatalf("winners got %d, the packet holds %d", sum, p.Coins)
		}
		got, _ := db.RedPacket(ctx, p.ID)
		if got.Claimed != shares || got.Status != RedPacketEnded {
			t.Fatalf("after: %+v", got)
		}
	})
}

func filterGrabs(gs []RedPacketGrab, packet string) []RedPacketGrab {
	var out []RedPacketGrab
	for _, g := range gs {
		if g.PacketID == packet {
			out = append(out, g)
		}
	}
	return out
}

// samePacket compares stored packets field by field (times by instant).
func samePacket(a, b RedPacket) bool {
	return a.ID == b.ID && a.CreateKey == b.CreateKey && a.RoomID == b.RoomID && a.SenderID == b.SenderID && a.SenderName == b.SenderName &&
		a.Coins == b.Coins && a.Shares == b.Shares && slices.Equal(a.Split, b.Split) && a.Claimed == b.Claimed && a.Status == b.Status &&
		a.CreatedAt.Equal(b.CreatedAt) && a.ExpiresAt.Equal(b.ExpiresAt) && a.AttemptAt.Equal(b.AttemptAt) && a.CreateTxn == b.CreateTxn &&
		a.EndedAt.Equal(b.EndedAt) && a.Refunded == b.Refunded && a.RefundTxn == b.RefundTxn
}
