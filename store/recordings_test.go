package store

import (
	"reflect"
	"testing"
	"time"
)

func testRecordings(t *testing.T, db *DB) {
	ctx := t.Context()
	setClock(db, t0)
	mustUser(t, db, "recann", RoleStreamer)
	mustUser(t, db, "recbob", RoleStreamer)
	b1, err := db.StartBroadcast(ctx, "recann", t0)
	mustNil(t, err)
	r, err := db.CreateRecording(ctx, Recording{ID: b1.ID, RoomID: "recann", StartedAt: t0, Path: "/data/recordings/" + b1.ID})
	mustNil(t, err)
	want := Recording{ID: b1.ID, RoomID: "recann", StartedAt: msTime(t0), Path: "/data/recordings/" + b1.ID, Status: RecordingRecording}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("created %+v\nwant %+v", r, want)
	}
	_, err = db.CreateRecording(ctx, want)
	wantErr(t, err, ErrConflict)
	_, err = db.CreateRecording(ctx, Recording{ID: "01ARZ3NDEKTSV4RRFFQ69G5FAV", RoomID: "recann", StartedAt: t0, Path: "/x"})
	wantErr(t, err, ErrNotFound)
	_, err = db.CreateRecording(ctx, Recording{ID: b1.ID, RoomID: "recann", StartedAt: t0})
	wantErr(t, err, ErrInvalid)
	if in, err := db.RecordingsInProgress(ctx); err != nil || len(in) != 1 || in[0].ID != b1.ID {
		t.Fatalf("in progress %+v (%v)", in, err)
	}

	end := t0.Add(10 * time.Second)
	_, err = db.FinishRecording(ctx, b1.ID, RecordingEnd{EndedAt: end, Status: RecordingRecording})
	wantErr(t, err, ErrInvalid)
	done, err := db.FinishRecording(ctx, b1.ID, RecordingEnd{EndedAt: end, DurationMS: 9_980, Bytes: 1_234_567, Path: want.Path + "/replay.mp4", Status: RecordingReady})
	mustNil(t, err)
	want.EndedAt, want.DurationMS, want.Bytes, want.Path, want.Status = ptr(msTime(end)), 9_980, 1_234_567, want.Path+"/replay.mp4", RecordingReady
	if !reflect.DeepEqual(done, want) {
		t.Fatalf("finished %+v\nwant %+v", done, want)
	}
	_, err = db.FinishRecording(ctx, b1.ID, RecordingEnd{EndedAt: end, Status: RecordingFailed})
	wantErr(t, err, ErrConflict)
	_, err = db.FinishRecording(ctx, "01ARZ3NDEKTSV4RRFFQ69G5FAV", RecordingEnd{EndedAt: end, Status: RecordingFailed})
	wantErr(t, err, ErrNotFound)
	if got, err := db.Recording(ctx, b1.ID); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("read %+v (%v)", got, err)
	}

	// A second broadcast that failed, and one of another room.
	mustNil(t, db.EndBroadcast(ctx, b1.ID, end, 0, 0))
	b2, err := db.StartBroadcast(ctx, "recann", t0.Add(time.Hour))
	mustNil(t, err)
	_, err = db.CreateRecording(ctx, Recording{ID: b2.ID, RoomID: "recann", StartedAt: b2.StartedAt, Path: "/p2"})
	mustNil(t, err)
	f, err := db.FinishRecording(ctx, b2.ID, RecordingEnd{EndedAt: t0.Add(2 * time.Hour), Status: RecordingFailed, Reason: "no picture"})
	mustNil(t, err)
	if f.Path != "/p2" || f.Reason != "no picture" {
		t.Fatalf("failed one %+v", f)
	}
	b3, err := db.StartBroadcast(ctx, "recbob", t0.Add(3*time.Hour))
	mustNil(t, err)
	_, err = db.CreateRecording(ctx, Recording{ID: b3.ID, RoomID: "recbob", StartedAt: b3.StartedAt, Path: "/p3"})
	mustNil(t, err)

	list, err := db.RoomRecordings(ctx, "recann", 0)
	mustNil(t, err)
	if len(list) != 2 || list[0].ID != b2.ID || list[1].ID != b1.ID {
		t.Fatalf("room list %+v", list)
	}
	if l, err := db.RoomRecordings(ctx, "nobody", 0); err != nil || l == nil || len(l) != 0 {
		t.Fatalf("unknown room's list %#v (%v)", l, err)
	}
	old, err := db.RecordingsStartedBefore(ctx, t0.Add(2*time.Hour), 0)
	mustNil(t, err)
	if len(old) != 2 || old[0].ID != b1.ID || old[1].ID != b2.ID {
		t.Fatalf("old %+v", old)
	}

	mustNil(t, db.DeleteRecording(ctx, b1.ID))
	wantErr(t, db.DeleteRecording(ctx, b1.ID), ErrNotFound)
	_, err = db.Recording(ctx, b1.ID)
	wantErr(t, err, ErrNotFound)
	if _, err := db.exec(ctx, db.w, "INSERT INTO recordings (id, room_id, started_at, path, status) VALUES (?, 'recbob', 0, '/x', 'paused')", b1.ID); err == nil {
		t.Fatal("the table took a status that is none of recording, ready, failed")
	}

	// The streamer's switch: none, on, off, none again.
	for _, set := range []*bool{nil, ptr(true), ptr(false), nil} {
		mustNil(t, db.SetRoomRecord(ctx, "recbob", set))
		got, err := db.RoomRecord(ctx, "recbob")
		mustNil(t, err)
		if !reflect.DeepEqual(got, set) {
			t.Fatalf("record switch %v, want %v", got, set)
		}
	}
	_, err = db.RoomRecord(ctx, "nobody")
	wantErr(t, err, ErrNotFound)
	wantErr(t, db.SetRoomRecord(ctx, "nobody", ptr(true)), ErrNotFound)
	wantErr(t, db.SetRoomRecord(ctx, "nobody", nil), ErrNotFound)
}
