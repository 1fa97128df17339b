package store

import (
	"reflect"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
)

func testVoiceClips(t *testing.T, db *DB) {
	ctx := t.Context()
	setClock(db, t0)
	ann := mustUser(t, db, "vann", RoleViewer)
	bob := mustUser(t, db, "vbob", RoleStreamer)
	inRoom := VoiceClip{ID: ulid.Make().String(), OwnerID: ann.ID, DurationMS: 2040, Bytes: 6123, ScopeKind: VoiceScopeRoom, ScopeID: "vbob"}
	got, err := db.CreateVoiceClip(ctx, inRoom)
	mustNil(t, err)
	inRoom.CreatedAt = msTime(t0)
	if !reflect.DeepEqual(got, inRoom) {
		t.Fatalf("created %+v\nwant %+v", got, inRoom)
	}
	toBob := VoiceClip{ID: ulid.Make().String(), OwnerID: ann.ID, DurationMS: 59_900, Bytes: 180_000, ScopeKind: VoiceScopeDM, ScopeID: bob.ID}
	_, err = db.CreateVoiceClip(ctx, toBob)
	mustNil(t, err)
	toBob.CreatedAt = msTime(t0)
	for _, want := range []VoiceClip{inRoom, toBob} {
		c, err := db.VoiceClip(ctx, want.ID)
		mustNil(t, err)
		if !reflect.DeepEqual(c, want) || c.CreatedAt.Location() != time.UTC {
			t.Fatalf("read %+v\nwant %+v", c, want)
		}
	}
	_, err = db.VoiceClip(ctx, ulid.Make().String())
	wantErr(t, err, ErrNotFound)

	_, err = db.CreateVoiceClip(ctx, inRoom) // the same id again
	wantErr(t, err, ErrConflict)
	nobody := inRoom
	nobody.ID, nobody.OwnerID = ulid.Make().String(), "01ARZ3NDEKTSV4RRFFQ69G5FAV"
	_, err = db.CreateVoiceClip(ctx, nobody)
	wantErr(t, err, ErrNotFound)
	for _, bad := range []func(*VoiceClip){
		func(c *VoiceClip) { c.ID = "short" },
		func(c *VoiceClip) { c.OwnerID = "" },
		func(c *VoiceClip) { c.DurationMS = 0 },
		func(c *VoiceClip) { c.Bytes = -1 },
		func(c *VoiceClip) { c.ScopeKind = "channel" },
		func(c *VoiceClip) { c.ScopeID = "" },
	} {
		c := inRoom
		c.ID = ulid.Make().String()
		bad(&c)
		_, err := db.CreateVoiceClip(ctx, c)
		wantErr(t, err, ErrInvalid)
	}
	// The table's own checks hold whatever the Go code lets through.
	var n int
	mustNil(t, db.queryRow(ctx, db.r, "SELECT COUNT(*) FROM voice_clips").Scan(&n))
	if n != 2 {
		t.Fatalf("%d clips stored, want 2", n)
	}
	if _, err := db.exec(ctx, db.w, "INSERT INTO voice_clips (id, owner_id, duration_ms, bytes, scope_kind, scope_id, created_at) VALUES (?, ?, 1, 1, 'channel', 'x', 0)",
		ulid.Make().String(), ann.ID); err == nil {
		t.Fatal("the table took a scope that is neither room nor dm")
	}
}
