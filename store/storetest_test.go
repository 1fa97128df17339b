package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The contract: every implementation (SQLite, PostgreSQL) passes the same suite.

func TestSQLite(t *testing.T) { runContract(t, func(t *testing.T) *DB { return openTestSQLite(t) }) }

func TestPostgres(t *testing.T) {
	requirePostgres(t)
	runContract(t, func(t *testing.T) *DB { return openTestPostgres(t) })
}

// t0 has nanoseconds on purpose: the store keeps milliseconds.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

func msTime(t time.Time) time.Time { return t.Truncate(time.Millisecond).UTC() }

func runContract(t *testing.T, open func(t *testing.T) *DB) {
	tests := []struct {
		name string
		fn   func(t *testing.T, db *DB)
	}{
		{"Migrate", testMigrate},
		{"Ping", testPing},
		{"CreateAndGetUser", testCreateAndGetUser},
		{"NameTakenCaseInsensitive", testNameTaken},
		{"CreateUserInvalid", testCreateUserInvalid},
		{"StreamerGetsRoom", testStreamerGetsRoom},
		{"CreateUserAtomic", testCreateUserAtomic},
		{"SetRole", testSetRole},
		{"UserSetters", testUserSetters},
		{"StreamKeys", testStreamKeys},
		{"RevokeAndPurge", testRevokeAndPurge},
		{"RevokeAllFor", testRevokeAllFor},
		{"UpdateRoom", testUpdateRoom},
		{"RoomsBatch", testRoomsBatch},
		{"UsersByID", testUsersByID},
		{"Broadcasts", testBroadcasts},
		{"Follow", testFollow},
		{"FollowPagination", testFollowPagination},
		{"Settings", testSettings},
		{"Moderation", testModeration},
		{"Reports", testReports},
		{"HeldMessages", testHeldMessages},
		{"RoomChatRules", testRoomChatRules},
		{"ChatStanding", testChatStanding},
		{"EconomyTerms", testEconomyTerms},
		{"RechargeOrders", testRechargeOrders},
		{"Withdrawals", testWithdrawals},
		{"WithdrawalLimitConcurrent", testWithdrawalLimitConcurrent},
		{"DirectMessages", testDirectMessages},
		{"VoiceClips", testVoiceClips},
		{"RestreamTargets", testRestreamTargets},
		{"Recordings", testRecordings},
		{"RedPackets", testRedPackets},
		{"ConcurrentCreateSameName", testConcurrentCreateSameName},
		{"ConcurrentWrites", testConcurrentWrites},
		{"ContextCanceled", testContextCanceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

func mustUser(t *testing.T, db *DB, name string, role Role) User {
	t.Helper()
	u, err := db.CreateUser(t.Context(), NewUser{Name: name, DisplayName: strings.ToUpper(name), Role: role})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return u
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
}

// rawExec changes the database behind the store's back, to set up states the
// API cannot reach.
func rawExec(t *testing.T, db *DB, q string, args ...any) {
	t.Helper()
	if _, err := db.exec(t.Context(), db.w, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func testMigrate(t *testing.T, db *DB) {
	ctx := t.Context()
	all, err := migrations()
	mustNil(t, err)
	for range 2 { // already migrated by open: twice more changes nothing
		mustNil(t, db.Migrate(ctx))
	}
	var n, v int
	mustNil(t, db.queryRow(ctx, db.r, "SELECT COUNT(*), MAX(version) FROM schema_migrations").Scan(&n, &v))
	if n != len(all) || v != all[len(all)-1].version {
		t.Fatalf("schema_migrations has %d rows up to %d, want %d", n, v, len(all))
	}
	// A migration the database lacks below ones it has (branches merged in
	// another order) is applied too.
	rawExec(t, db, "DROP TABLE reports")
	rawExec(t, db, "DELETE FROM schema_migrations WHERE version = 3")
	mustNil(t, db.Migrate(ctx))
	rawExec(t, db, "SELECT COUNT(*) FROM reports")
	mustUser(t, db, "keeper", RoleStreamer)
	mustNil(t, db.Migrate(ctx))
	if c, _ := db.CountUsers(ctx); c != 1 {
		t.Fatalf("users after Migrate: %d, want 1", c)
	}

	// A database from a newer binary is refused, and nothing changes.
	rawExec(t, db, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", len(all)+1, "future", 0)
	err = db.Migrate(ctx)
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Migrate on a newer schema: %v, want a refusal", err)
	}
}

func testPing(t *testing.T, db *DB) {
	mustNil(t, db.Ping(t.Context()))
}

func testCreateAndGetUser(t *testing.T, db *DB) {
	ctx := t.Context()
	c := setClock(db, t0)
	u, err := db.CreateUser(ctx, NewUser{Name: "Alice", DisplayName: "Alice A.", PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA"})
	mustNil(t, err)
	want := User{ID: u.ID, Name: "Alice", DisplayName: "Alice A.", Role: RoleViewer,
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA", CreatedAt: msTime(t0)}
	if !reflect.DeepEqual(u, want) {
		t.Fatalf("created %+v\nwant %+v", u, want)
	}
	if len(u.ID) != 26 {
		t.Fatalf("id %q is not a ULID", u.ID)
	}
	if u.CreatedAt.Location() != time.UTC {
		t.Fatalf("CreatedAt in %v, want UTC", u.CreatedAt.Location())
	}
	got, err := db.UserByID(ctx, u.ID)
	mustNil(t, err)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("by id %+v\nwant %+v", got, want)
	}
	for _, name := range []string{"Alice", "alice", "ALICE", "aLiCe"} {
		got, err := db.UserByName(ctx, name)
		mustNil(t, err)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("by name %q: %+v\nwant %+v", name, got, want)
		}
	}
	_, err = db.UserByID(ctx, "01ARZ3NDEKTSV4RRFFQ69G5FAV")
	wantErr(t, err, ErrNotFound)
	_, err = db.UserByName(ctx, "bob")
	wantErr(t, err, ErrNotFound)

	// A user without a password keeps an empty hash. IDs grow with time.
	c.t = t0.Add(time.Millisecond)
	v, err := db.CreateUser(ctx, NewUser{Name: "nopass", Role: RoleAdmin})
	mustNil(t, err)
	got, err = db.UserByID(ctx, v.ID)
	mustNil(t, err)
	if got.PasswordHash != "" || got.Role != RoleAdmin || got.ID <= u.ID {
		t.Fatalf("second user %+v (first id %s)", got, u.ID)
	}
	n, err := db.CountUsers(ctx)
	mustNil(t, err)
	if n != 2 {
		t.Fatalf("CountUsers = %d, want 2", n)
	}
}

func testNameTaken(t *testing.T, db *DB) {
	ctx := t.Context()
	mustUser(t, db, "Alice", RoleViewer)
	for _, name := range []string{"Alice", "alice", "ALICE"} {
		for _, role := range []Role{RoleViewer, RoleStreamer} {
			_, err := db.CreateUser(ctx, NewUser{Name: name, Role: role})
			wantErr(t, err, ErrNameTaken)
		}
	}
	mustUser(t, db, "alice2", RoleViewer)
	n, err := db.CountUsers(ctx)
	mustNil(t, err)
	if n != 2 {
		t.Fatalf("CountUsers = %d, want 2", n)
	}
}

func testCreateUserInvalid(t *testing.T, db *DB) {
	ctx := t.Context()
	_, err := db.CreateUser(ctx, NewUser{Name: ""})
	wantErr(t, err, ErrInvalid)
	_, err = db.CreateUser(ctx, NewUser{Name: "kingsley", Role: "king"})
	wantErr(t, err, ErrInvalid)
	if n, _ := db.CountUsers(ctx); n != 0 {
		t.Fatalf("CountUsers = %d, want 0", n)
	}
}

func testStreamerGetsRoom(t *testing.T, db *DB) {
	ctx := t.Context()
	setClock(db, t0)
	for _, role := range []Role{RoleStreamer, RoleAdmin, RoleSuperadmin} {
		name := "u_" + string(role)
		u := mustUser(t, db, name, role)
		r, err := db.RoomByID(ctx, name)
		mustNil(t, err)
		want := Room{ID: name, OwnerID: u.ID, UpdatedAt: msTime(t0)}
		if !reflect.DeepEqual(r, want) {
			t.Fatalf("room of %s: %+v, want %+v", role, r, want)
		}
	}
	mustUser(t, db, "watcher", RoleViewer)
	_, err := db.RoomByID(ctx, "watcher")
	wantErr(t, err, ErrNotFound)
	_, err = db.RoomByID(ctx, "nobody")
	wantErr(t, err, ErrNotFound)
}

func testCreateUserAtomic(t *testing.T, db *DB) {
	ctx := t.Context()
	carol := mustUser(t, db, "carol", RoleViewer)
	// A room named dave already exists (planted by hand): creating the streamer
	// dave must fail whole, leaving no user behind.
	rawExec(t, db, "INSERT INTO rooms (id, owner_id, updated_at) VALUES (?, ?, ?)", "dave", carol.ID, 0)
	_, err := db.CreateUser(ctx, NewUser{Name: "dave", Role: RoleStreamer})
	wantErr(t, err, ErrNameTaken)
	_, err = db.UserByName(ctx, "dave")
	wantErr(t, err, ErrNotFound)
	if n, _ := db.CountUsers(ctx); n != 1 {
		t.Fatalf("CountUsers = %d, want 1", n)
	}
}

func testSetRole(t *testing.T, db *DB) {
	ctx := t.Context()
	eve := mustUser(t, db, "eve", RoleViewer)
	mustNil(t, db.SetRole(ctx, eve.ID, RoleStreamer))
	r, err := db.RoomByID(ctx, "eve")
	mustNil(t, err)
	if r.OwnerID != eve.ID {
		t.Fatalf("room owner %s, want %s", r.OwnerID, eve.ID)
	}
	mustNil(t, db.SetRole(ctx, eve.ID, RoleViewer))
	u, err := db.UserByID(ctx, eve.ID)
	mustNil(t, err)
	if u.Role != RoleViewer {
		t.Fatalf("role %s, want viewer", u.Role)
	}
	if _, err := db.RoomByID(ctx, "eve"); err != nil {
		t.Fatalf("room after demotion: %v (it is kept)", err)
	}
	mustNil(t, db.SetRole(ctx, eve.ID, RoleAdmin)) // room exists already
	wantErr(t, db.SetRole(ctx, "nobody", RoleAdmin), ErrNotFound)
	wantErr(t, db.SetRole(ctx, eve.ID, "king"), ErrInvalid)

	// A promotion whose room cannot be made changes nothing.
	frank := mustUser(t, db, "frank", RoleViewer)
	gina := mustUser(t, db, "gina", RoleViewer)
	rawExec(t, db, "INSERT INTO rooms (id, owner_id, updated_at) VALUES (?, ?, ?)", "gina", frank.ID, 0)
	wantErr(t, db.SetRole(ctx, gina.ID, RoleStreamer), ErrConflict)
	u, err = db.UserByID(ctx, gina.ID)
	mustNil(t, err)
	if u.Role != RoleViewer {
		t.Fatalf("gina's role after a failed promotion: %s, want viewer", u.Role)
	}
}

func testUserSetters(t *testing.T, db *DB) {
	ctx := t.Context()
	u := mustUser(t, db, "henry", RoleViewer)
	mustNil(t, db.SetBanned(ctx, u.ID, true, "spam"))
	mustNil(t, db.SetVerified(ctx, u.ID, true))
	mustNil(t, db.SetLevel(ctx, u.ID, 7))
	mustNil(t, db.SetPassword(ctx, u.ID, "new-hash"))
	got, err := db.UserByID(ctx, u.ID)
	mustNil(t, err)
	if !got.Banned || got.BanReason != "spam" || !got.Verified || got.Level != 7 || got.PasswordHash != "new-hash" {
		t.Fatalf("after setters: %+v", got)
	}
	mustNil(t, db.SetBanned(ctx, u.ID, false, "ignored"))
	mustNil(t, db.SetVerified(ctx, u.ID, false))
	got, err = db.UserByID(ctx, u.ID)
	mustNil(t, err)
	if got.Banned || got.BanReason != "" || got.Verified {
		t.Fatalf("after unban and unverify: %+v", got)
	}
	wantErr(t, db.SetLevel(ctx, u.ID, -1), ErrInvalid)

	const nobody = "nobody"
	wantErr(t, db.SetBanned(ctx, nobody, true, "x"), ErrNotFound)
	wantErr(t, db.SetVerified(ctx, nobody, true), ErrNotFound)
	wantErr(t, db.SetLevel(ctx, nobody, 1), ErrNotFound)
	wantErr(t, db.SetPassword(ctx, nobody, "h"), ErrNotFound)
}

func testStreamKeys(t *testing.T, db *DB) {
	ctx := t.Context()
	ivy := mustUser(t, db, "ivy", RoleStreamer)
	jack := mustUser(t, db, "jack", RoleStreamer)
	k1, k2, k3 := []byte("hash-one"), []byte("hash-two"), []byte("hash-three")

	_, err := db.UserByStreamKeyHash(ctx, k1)
	wantErr(t, err, ErrNotFound)
	mustNil(t, db.SetStreamKeyHash(ctx, ivy.ID, k1))
	u, err := db.UserByStreamKeyHash(ctx, k1)
	mustNil(t, err)
	if u.ID != ivy.ID {
		t.Fatalf("key 1 finds %s, want ivy", u.Name)
	}
	mustNil(t, db.SetStreamKeyHash(ctx, ivy.ID, k2)) // replaces k1
	_, err = db.UserByStreamKeyHash(ctx, k1)
	wantErr(t, err, ErrNotFound)
	u, err = db.UserByStreamKeyHash(ctx, k2)
	mustNil(t, err)
	if u.ID != ivy.ID {
		t.Fatalf("key 2 finds %s, want ivy", u.Name)
	}

	wantErr(t, db.SetStreamKeyHash(ctx, jack.ID, k2), ErrConflict)
	mustNil(t, db.SetStreamKeyHash(ctx, jack.ID, k3))
	u, err = db.UserByStreamKeyHash(ctx, k3)
	mustNil(t, err)
	if u.ID != jack.ID {
		t.Fatalf("key 3 finds %s, want jack", u.Name)
	}
	wantErr(t, db.SetStreamKeyHash(ctx, "nobody", []byte("x")), ErrNotFound)
	wantErr(t, db.SetStreamKeyHash(ctx, ivy.ID, nil), ErrInvalid)
	_, err = db.UserByStreamKeyHash(ctx, nil)
	wantErr(t, err, ErrNotFound)
}

func testRevokeAndPurge(t *testing.T, db *DB) {
	ctx := t.Context()
	mustNil(t, db.RevokeToken(ctx, "live", t0.Add(time.Hour)))
	mustNil(t, db.RevokeToken(ctx, "old", t0.Add(-time.Hour)))
	mustNil(t, db.RevokeToken(ctx, "old", t0.Add(-2*time.Hour))) // again, earlier: the later expiry stays
	mustNil(t, db.RevokeToken(ctx, "edge", t0))
	wantErr(t, db.RevokeToken(ctx, "", t0), ErrInvalid)
	for jti, want := range map[string]bool{"live": true, "old": true, "edge": true, "never": false} {
		got, err := db.IsRevoked(ctx, jti)
		mustNil(t, err)
		if got != want {
			t.Fatalf("IsRevoked(%s) = %v, want %v", jti, got, want)
		}
	}
	n, err := db.PurgeRevoked(ctx, t0.Add(-90*time.Minute))
	mustNil(t, err)
	if n != 0 {
		t.Fatalf("purged %d before any expiry, want 0 (old expires at -1h)", n)
	}
	n, err = db.PurgeRevoked(ctx, t0)
	mustNil(t, err)
	if n != 2 {
		t.Fatalf("purged %d, want 2 (old, edge)", n)
	}
	for jti, want := range map[string]bool{"live": true, "old": false, "edge": false} {
		got, err := db.IsRevoked(ctx, jti)
		mustNil(t, err)
		if got != want {
			t.Fatalf("after purge IsRevoked(%s) = %v, want %v", jti, got, want)
		}
	}
}

func testRevokeAllFor(t *testing.T, db *DB) {
	ctx := t.Context()
	u := mustUser(t, db, "kate", RoleViewer)
	after, err := db.TokensValidAfter(ctx, u.ID)
	mustNil(t, err)
	if !after.IsZero() {
		t.Fatalf("fresh watermark %v, want zero", after)
	}
	mustNil(t, db.RevokeAllFor(ctx, u.ID, t0))
	after, err = db.TokensValidAfter(ctx, u.ID)
	mustNil(t, err)
	if !after.Equal(msTime(t0)) || after.Location() != time.UTC {
		t.Fatalf("watermark %v, want %v UTC", after, msTime(t0))
	}
	mustNil(t, db.RevokeAllFor(ctx, u.ID, t0.Add(-time.Hour))) // never moves back
	after, err = db.TokensValidAfter(ctx, u.ID)
	mustNil(t, err)
	if !after.Equal(msTime(t0)) {
		t.Fatalf("watermark moved back to %v", after)
	}
	mustNil(t, db.RevokeAllFor(ctx, u.ID, t0.Add(time.Hour)))
	after, err = db.TokensValidAfter(ctx, u.ID)
	mustNil(t, err)
	if !after.Equal(msTime(t0.Add(time.Hour))) {
		t.Fatalf("watermark %v, want %v", after, msTime(t0.Add(time.Hour)))
	}
	wantErr(t, db.RevokeAllFor(ctx, "nobody", t0), ErrNotFound)
	_, err = db.TokensValidAfter(ctx, "nobody")
	wantErr(t, err, ErrNotFound)
}

func ptr[T any](v T) *T { return &v }

func testUpdateRoom(t *testing.T, db *DB) {
	ctx := t.Context()
	c := setClock(db, t0)
	u := mustUser(t, db, "liam", RoleStreamer)
	c.t = t0.Add(time.Minute)
	r, err := db.UpdateRoom(ctx, "liam", RoomPatch{Title: ptr("Late show"), Category: ptr("music")})
	mustNil(t, err)
	want := Room{ID: "liam", OwnerID: u.ID, Title: "Late show", Category: "music", UpdatedAt: msTime(c.t)}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("updated %+v\nwant %+v", r, want)
	}
	c.t = t0.Add(2 * time.Minute)
	r, err = db.UpdateRoom(ctx, "liam", RoomPatch{CoverURL: ptr("/covers/liam.jpg"), Private: ptr(true), Title: ptr("")})
	mustNil(t, err)
	want = Room{ID: "liam", OwnerID: u.ID, Title: "", CoverURL: "/covers/liam.jpg", Category: "music", Private: true, UpdatedAt: msTime(c.t)}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("updated %+v\nwant %+v", r, want)
	}
	got, err := db.RoomByID(ctx, "liam")
	mustNil(t, err)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("stored %+v\nwant %+v", got, want)
	}
	got, err = db.UpdateRoom(ctx, "liam", RoomPatch{}) // changes nothing
	mustNil(t, err)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after an empty patch %+v\nwant %+v", got, want)
	}
	r, err = db.UpdateRoom(ctx, "liam", RoomPatch{Private: ptr(false)})
	mustNil(t, err)
	if r.Private || r.CoverURL != "/covers/liam.jpg" {
		t.Fatalf("after Private=false: %+v", r)
	}
	_, err = db.UpdateRoom(ctx, "nobody", RoomPatch{Title: ptr("x")})
	wantErr(t, err, ErrNotFound)
	_, err = db.UpdateRoom(ctx, "nobody", RoomPatch{})
	wantErr(t, err, ErrNotFound)
}

func testRoomsBatch(t *testing.T, db *DB) {
	ctx := t.Context()
	var names []string
	for i := range 3 {
		u := mustUser(t, db, fmt.Sprintf("host%d", i), RoleStreamer)
		names = append(names, u.Name)
	}
	mustUser(t, db, "viewer", RoleViewer)

	got, err := db.Rooms(ctx, []string{names[0], "missing", names[2], names[0], "viewer"})
	mustNil(t, err)
	if len(got) != 2 || got[names[0]].ID != names[0] || got[names[2]].ID != names[2] {
		t.Fatalf("Rooms = %+v, want %s and %s", got, names[0], names[2])
	}
	got, err = db.Rooms(ctx, nil)
	mustNil(t, err)
	if got == nil || len(got) != 0 {
		t.Fatalf("Rooms(nil) = %#v, want an empty map", got)
	}
	// More ids than one query takes.
	ids := make([]string, 0, 2*roomsBatch+10)
	for i := range cap(ids) - 3 {
		ids = append(ids, fmt.Sprintf("absent%d", i))
	}
	ids = append(ids, names...)
	got, err = db.Rooms(ctx, ids)
	mustNil(t, err)
	if len(got) != 3 {
		t.Fatalf("Rooms over %d ids found %d, want 3", len(ids), len(got))
	}
}

func testUsersByID(t *testing.T, db *DB) {
	ctx := t.Context()
	a := mustUser(t, db, "owner_a", RoleStreamer)
	b := mustUser(t, db, "owner_b", RoleViewer)
	got, err := db.UsersByID(ctx, []string{a.ID, "missing", b.ID, a.ID})
	mustNil(t, err)
	if len(got) != 2 || !reflect.DeepEqual(got[a.ID], a) || !reflect.DeepEqual(got[b.ID], b) {
		t.Fatalf("UsersByID = %+v, want %s and %s", got, a.Name, b.Name)
	}
	got, err = db.UsersByID(ctx, nil)
	mustNil(t, err)
	if got == nil || len(got) != 0 {
		t.Fatalf("UsersByID(nil) = %#v, want an empty map", got)
	}
	ids := []string{b.ID}
	for i := range 2*roomsBatch + 5 {
		ids = append(ids, fmt.Sprintf("absent%d", i))
	}
	got, err = db.UsersByID(ctx, append(ids, a.ID))
	mustNil(t, err)
	if len(got) != 2 {
		t.Fatalf("UsersByID over %d ids found %d, want 2", len(ids)+1, len(got))
	}
}

func testBroadcasts(t *testing.T, db *DB) {
	ctx := t.Context()
	mustUser(t, db, "mia", RoleStreamer)
	b1, err := db.StartBroadcast(ctx, "mia", t0)
	mustNil(t, err)
	if b1.RoomID != "mia" || !b1.StartedAt.Equal(msTime(t0)) || b1.EndedAt != nil || len(b1.ID) != 26 {
		t.Fatalf("started %+v", b1)
	}
	end1 := t0.Add(30 * time.Minute)
	mustNil(t, db.EndBroadcast(ctx, b1.ID, end1, 40, 120))
	wantErr(t, db.EndBroadcast(ctx, b1.ID, end1, 40, 120), ErrConflict)
	wantErr(t, db.EndBroadcast(ctx, "nope", end1, 1, 1), ErrNotFound)
	wantErr(t, db.EndBroadcast(ctx, b1.ID, end1, -1, 1), ErrInvalid)

	b2, err := db.StartBroadcast(ctx, "mia", t0.Add(time.Hour))
	mustNil(t, err)
	// A broadcast left open (its node died) is ended when the next starts.
	b3, err := db.StartBroadcast(ctx, "mia", t0.Add(2*time.Hour))
	mustNil(t, err)

	list, err := db.Broadcasts(ctx, "mia", 0)
	mustNil(t, err)
	if len(list) != 3 || list[0].ID != b3.ID || list[1].ID != b2.ID || list[2].ID != b1.ID {
		t.Fatalf("Broadcasts = %+v, want b3, b2, b1", list)
	}
	if list[0].EndedAt != nil {
		t.Fatalf("live broadcast has EndedAt %v", list[0].EndedAt)
	}
	if list[1].EndedAt == nil || !list[1].EndedAt.Equal(b3.StartedAt) {
		t.Fatalf("left-open broadcast ended at %v, want %v", list[1].EndedAt, b3.StartedAt)
	}
	want1 := Broadcast{ID: b1.ID, RoomID: "mia", StartedAt: msTime(t0), EndedAt: ptr(msTime(end1)), PeakViewers: 40, TotalViewers: 120}
	if !reflect.DeepEqual(list[2], want1) {
		t.Fatalf("ended broadcast %+v\nwant %+v", list[2], want1)
	}
	list, err = db.Broadcasts(ctx, "mia", 1)
	mustNil(t, err)
	if len(list) != 1 || list[0].ID != b3.ID {
		t.Fatalf("Broadcasts limit 1 = %+v", list)
	}
	list, err = db.Broadcasts(ctx, "nobody", 10)
	mustNil(t, err)
	if len(list) != 0 {
		t.Fatalf("Broadcasts of an unknown room = %+v", list)
	}
	_, err = db.StartBroadcast(ctx, "nobody", t0)
	wantErr(t, err, ErrNotFound)
}

func testFollow(t *testing.T, db *DB) {
	ctx := t.Context()
	a := mustUser(t, db, "ann", RoleViewer)
	b := mustUser(t, db, "ben", RoleStreamer)
	mustNil(t, db.Follow(ctx, a.ID, b.ID))
	mustNil(t, db.Follow(ctx, a.ID, b.ID)) // again: nothing changes
	n, err := db.FollowerCount(ctx, b.ID)
	mustNil(t, err)
	if n != 1 {
		t.Fatalf("FollowerCount = %d, want 1", n)
	}
	yes, err := db.IsFollowing(ctx, a.ID, b.ID)
	mustNil(t, err)
	no, err := db.IsFollowing(ctx, b.ID, a.ID)
	mustNil(t, err)
	if !yes || no {
		t.Fatalf("IsFollowing a→b %v, b→a %v", yes, no)
	}
	wantErr(t, db.Follow(ctx, a.ID, a.ID), ErrConflict)
	wantErr(t, db.Follow(ctx, a.ID, "nobody"), ErrNotFound)
	wantErr(t, db.Follow(ctx, "nobody", a.ID), ErrNotFound)

	mustNil(t, db.Unfollow(ctx, a.ID, b.ID))
	mustNil(t, db.Unfollow(ctx, a.ID, b.ID)) // again: fine
	yes, err = db.IsFollowing(ctx, a.ID, b.ID)
	mustNil(t, err)
	n, err = db.FollowerCount(ctx, b.ID)
	mustNil(t, err)
	if yes || n != 0 {
		t.Fatalf("after unfollow: following %v, count %d", yes, n)
	}
}

func testFollowPagination(t *testing.T, db *DB) {
	ctx := t.Context()
	c := setClock(db, t0)
	star := mustUser(t, db, "star", RoleStreamer)
	var fans []User // in follow order
	for i := range 25 {
		f := mustUser(t, db, fmt.Sprintf("fan%02d", i), RoleViewer)
		c.t = c.t.Add(time.Millisecond) // follows of one millisecond have no set order
		mustNil(t, db.Follow(ctx, f.ID, star.ID))
		fans = append(fans, f)
	}
	n, err := db.FollowerCount(ctx, star.ID)
	mustNil(t, err)
	if n != 25 {
		t.Fatalf("FollowerCount = %d, want 25", n)
	}

	var got []string
	var sizes []int
	cursor := ""
	for page := 0; ; page++ {
		if page > 5 {
			t.Fatal("pagination does not end")
		}
		users, next, err := db.Followers(ctx, star.ID, cursor, 10)
		mustNil(t, err)
		sizes = append(sizes, len(users))
		for _, u := range users {
			got = append(got, u.Name)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if !slices.Equal(sizes, []int{10, 10, 5}) {
		t.Fatalf("page sizes %v, want [10 10 5]", sizes)
	}
	var want []string // the most recent follow first
	for i := len(fans) - 1; i >= 0; i-- {
		want = append(want, fans[i].Name)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("followers %v\nwant %v", got, want)
	}
	// A page that ends exactly at the last follower has no next cursor.
	users, next, err := db.Followers(ctx, star.ID, "", 25)
	mustNil(t, err)
	if len(users) != 25 || next != "" {
		t.Fatalf("a page of 25 of 25: %d users, cursor %q", len(users), next)
	}
	users, next, err = db.Followers(ctx, fans[0].ID, "", 10)
	mustNil(t, err)
	if len(users) != 0 || next != "" {
		t.Fatalf("followers of a fan: %d, cursor %q", len(users), next)
	}

	// Following, the other direction.
	for _, f := range fans[1:4] {
		c.t = c.t.Add(time.Millisecond)
		mustNil(t, db.Follow(ctx, fans[0].ID, f.ID))
	}
	p1, next, err := db.Following(ctx, fans[0].ID, "", 2)
	mustNil(t, err)
	p2, last, err := db.Following(ctx, fans[0].ID, next, 2)
	mustNil(t, err)
	names := func(us []User) (s []string) {
		for _, u := range us {
			s = append(s, u.Name)
		}
		return s
	}
	if g := append(names(p1), names(p2)...); !slices.Equal(g, []string{"fan03", "fan02", "fan01", "star"}) || last != "" {
		t.Fatalf("following %v (last cursor %q), want [fan03 fan02 fan01 star]", g, last)
	}
}

func testSettings(t *testing.T, db *DB) {
	ctx := t.Context()
	s, err := db.Settings(ctx)
	mustNil(t, err)
	if s != DefaultSettings() {
		t.Fatalf("settings before any put: %+v, want defaults %+v", s, DefaultSettings())
	}
	for _, want := range []Settings{
		{BroadcastRequiresVerified: true, BroadcastMinLevel: 3},
		{BroadcastRequiresVerified: false, BroadcastMinLevel: 10},
	} {
		mustNil(t, db.PutSettings(ctx, want))
		got, err := db.Settings(ctx)
		mustNil(t, err)
		if got != want {
			t.Fatalf("settings %+v, want %+v", got, want)
		}
	}
	wantErr(t, db.PutSettings(ctx, Settings{BroadcastMinLevel: -1}), ErrInvalid)
}

func testConcurrentCreateSameName(t *testing.T, db *DB) {
	ctx := t.Context()
	variants := []string{"racer", "Racer", "RACER", "rAcEr"}
	const n = 20
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		errs  = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = db.CreateUser(ctx, NewUser{Name: variants[i%len(variants)], Role: RoleStreamer})
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrNameTaken):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d concurrent creates succeeded, want exactly 1", ok, n)
	}
	if c, _ := db.CountUsers(ctx); c != 1 {
		t.Fatalf("CountUsers = %d, want 1", c)
	}
	u, err := db.UserByName(ctx, "racer")
	mustNil(t, err)
	if _, err := db.RoomByID(ctx, u.Name); err != nil {
		t.Fatalf("the winner's room: %v", err)
	}
}

// testConcurrentWrites: many writers and readers at once never see "database
// is locked" or a lost write.
func testConcurrentWrites(t *testing.T, db *DB) {
	ctx := t.Context()
	star := mustUser(t, db, "idol", RoleStreamer)
	const workers, each = 20, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*4)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				u, err := db.CreateUser(ctx, NewUser{Name: fmt.Sprintf("w%02d_%d", w, i), Role: RoleStreamer})
				if err != nil {
					errs <- err
					continue
				}
				errs <- db.Follow(ctx, u.ID, star.ID)
				errs <- db.RevokeToken(ctx, u.ID, t0)
				_, err = db.Rooms(ctx, []string{u.Name, star.Name})
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	n, err := db.FollowerCount(ctx, star.ID)
	mustNil(t, err)
	if n != workers*each {
		t.Fatalf("FollowerCount = %d, want %d", n, workers*each)
	}
}

func testContextCanceled(t *testing.T, db *DB) {
	u := mustUser(t, db, "nora", RoleViewer)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := db.UserByID(ctx, u.ID)
	wantErr(t, err, context.Canceled)
	_, err = db.CreateUser(ctx, NewUser{Name: "oscar"})
	wantErr(t, err, context.Canceled)
	_, err = db.UserByName(t.Context(), "oscar")
	wantErr(t, err, ErrNotFound)
}
