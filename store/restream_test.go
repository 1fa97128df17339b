package store

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"
)

func testRestreamTargets(t *testing.T, db *DB) {
	ctx := t.Context()
	c := setClock(db, t0)
	mustUser(t, db, "rsam", RoleStreamer)
	mustUser(t, db, "rtia", RoleStreamer)
	yt, err := db.CreateRestreamTarget(ctx, RestreamTarget{RoomID: "rsam", Name: "YouTube", URL: "rtmp://a.rtmp.youtube.com/live2", StreamKey: "abcd-efgh", Enabled: true}, 3)
	mustNil(t, err)
	want := RestreamTarget{ID: yt.ID, RoomID: "rsam", Name: "YouTube", URL: "rtmp://a.rtmp.youtube.com/live2", StreamKey: "abcd-efgh", Enabled: true,
		CreatedAt: msTime(t0), UpdatedAt: msTime(t0)}
	if !reflect.DeepEqual(yt, want) || len(yt.ID) != 26 {
		t.Fatalf("created %+v\nwant %+v", yt, want)
	}
	c.t = t0.Add(time.Millisecond)
	off, err := db.CreateRestreamTarget(ctx, RestreamTarget{RoomID: "rsam", URL: "rtmps://live.example.com:443/app", StreamKey: "k2"}, 3)
	mustNil(t, err)
	list, err := db.RestreamTargets(ctx, "rsam")
	mustNil(t, err)
	if len(list) != 2 || !reflect.DeepEqual(list[0], want) || list[1].ID != off.ID || list[1].Enabled {
		t.Fatalf("list %+v", list)
	}
	if l, err := db.RestreamTargets(ctx, "rtia"); err != nil || l == nil || len(l) != 0 {
		t.Fatalf("another room's list %#v (%v), want empty", l, err)
	}

	// Another room cannot read, change or delete the target.
	_, err = db.RestreamTarget(ctx, "rtia", yt.ID)
	wantErr(t, err, ErrNotFound)
	_, err = db.UpdateRestreamTarget(ctx, "rtia", yt.ID, RestreamPatch{Enabled: ptr(false)})
	wantErr(t, err, ErrNotFound)
	wantErr(t, db.DeleteRestreamTarget(ctx, "rtia", yt.ID), ErrNotFound)

	c.t = t0.Add(time.Minute)
	got, err := db.UpdateRestreamTarget(ctx, "rsam", yt.ID, RestreamPatch{Enabled: ptr(false), StreamKey: ptr("new-key")})
	mustNil(t, err)
	want.Enabled, want.StreamKey, want.UpdatedAt = false, "new-key", msTime(c.t)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("updated %+v\nwant %+v", got, want)
	}
	got, err = db.RestreamTarget(ctx, "rsam", yt.ID)
	mustNil(t, err)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read %+v\nwant %+v", got, want)
	}
	for _, bad := range []RestreamPatch{{URL: ptr("http://example.com/live")}, {StreamKey: ptr("")}} {
		_, err = db.UpdateRestreamTarget(ctx, "rsam", yt.ID, bad)
		wantErr(t, err, ErrInvalid)
	}
	for _, bad := range []RestreamTarget{
		{RoomID: "rsam", URL: "srt://example.com", StreamKey: "k"},
		{RoomID: "rsam", URL: "rtmp://example.com/app"},
		{URL: "rtmp://example.com/app", StreamKey: "k"},
	} {
		_, err = db.CreateRestreamTarget(ctx, bad, 3)
		wantErr(t, err, ErrInvalid)
	}
	_, err = db.CreateRestreamTarget(ctx, RestreamTarget{RoomID: "nobody", URL: "rtmp://example.com/app", StreamKey: "k"}, 3)
	wantErr(t, err, ErrNotFound)

	// The limit holds under concurrent creates.
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = db.CreateRestreamTarget(ctx, RestreamTarget{RoomID: "rtia", URL: fmt.Sprintf("rtmp://h%d.example.com/app", i), StreamKey: "k"}, 3)
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			wantErr(t, err, ErrConflict)
		}
	}
	if l, _ := db.RestreamTargets(ctx, "rtia"); ok != 3 || len(l) != 3 {
		t.Fatalf("%d concurrent creates succeeded and %d targets stored, want 3 and 3", ok, len(l))
	}

	mustNil(t, db.DeleteRestreamTarget(ctx, "rsam", yt.ID))
	wantErr(t, db.DeleteRestreamTarget(ctx, "rsam", yt.ID), ErrNotFound)
	list, err = db.RestreamTargets(ctx, "rsam")
	mustNil(t, err)
	if len(list) != 1 || list[0].ID != off.ID {
		t.Fatalf("after delete %+v", list)
	}
	// The table's own checks hold whatever the Go code lets through.
	if _, err := db.exec(ctx, db.w, "INSERT INTO restream_targets ("+restreamCols+") VALUES ('x', 'rsam', '', 'http://x', 'k', TRUE, 0, 0)"); err == nil {
		t.Fatal("the table took an http:// URL")
	}
}
