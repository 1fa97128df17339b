package e2e

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/onair-live/onair/cmd/onair/app"
	"github.com/onair-live/onair/store"
)

// recordingNode records every broadcast unless its room says otherwise.
func recordingNode(t *testing.T) *node {
	return egressNode(t, func(c *app.Config) {
		c.Dev = false
		c.Egress.Record = true
	})
}

// readyRecording waits for the room's newest recording to be ready (as its
// owner sees the list) and returns it.
func readyRecording(t *testing.T, n *node, room, token string, within time.Duration) map[string]any {
	t.Helper()
	var rec map[string]any
	eventually(t, within, room+"'s recording to be ready", func() bool {
		time.Sleep(100 * time.Millisecond)
		status, out, _ := api(t, n, "GET", "/api/rooms/"+room+"/recordings", token, nil)
		if status != 200 {
			t.Fatalf("list %s's recordings: %d %v", room, status, out)
		}
		list, _ := out["recordings"].([]any)
		if len(list) == 0 {
			return false
		}
		rec = list[0].(map[string]any)
		if rec["status"] == store.RecordingFailed {
			t.Fatalf("the recording failed: %v", rec)
		}
		return rec["status"] == store.RecordingReady
	})
	return rec
}

// probeDuration is the duration ffprobe reads from url.
func probeDuration(t *testing.T, url string) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", url).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v: %s", url, err, out)
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		t.Fatalf("ffprobe %s said %q", url, out)
	}
	return time.Duration(f * float64(time.Second))
}

// A 10 s broadcast is recorded: ffprobe reads 10 s (within 1 s) from
// /replay-media over HTTP, which answers ranges as video/mp4; the room's
// list shows it with its replay page, a private room's only to logged-in
// users; another streamer cannot delete it, its streamer can (files and
// record gone, audited). A room whose streamer turned recording off records
// nothing.
func TestRecordingOfABroadcast(t *testing.T) {
	vp8, _, ogg := sources720(t)
	n := recordingNode(t)
	ann := createUser(t, n, "recann", "streamer", "correct-horse-9")
	off := createUser(t, n, "recoff", "streamer", "correct-horse-9")
	createUser(t, n, "recother", "streamer", "correct-horse-9")
	annTok, offTok := login(t, n, "recann", "correct-horse-9"), login(t, n, "recoff", "correct-horse-9")
	otherTok := login(t, n, "recother", "correct-horse-9")

	// The streamer's switch: the platform default (on), then off.
	if status, out, _ := api(t, n, "GET", "/api/rooms/recoff/recording", offTok, nil); status != 200 || out["record"] != nil || out["effective"] != true {
		t.Fatalf("switch before: %d %v", status, out)
	}
	if status, out, _ := api(t, n, "PUT", "/api/rooms/recoff/recording", otherTok, map[string]any{"record": false}); status != 403 {
		t.Fatalf("another streamer's switch: %d %v", status, out)
	}
	if status, out, _ := api(t, n, "PUT", "/api/rooms/recoff/recording", offTok, map[string]any{"record": false}); status != 200 || out["record"] != false || out["effective"] != false {
		t.Fatalf("switch off: %d %v", status, out)
	}

	pOff := publishFiles(t, n, "recoff", off["stream_key"], vp8, ogg)
	p := publishFiles(t, n, "recann", ann["stream_key"], vp8, ogg)
	started := time.Now()
	waitPlayable(t, n, "recann", 30*time.Second)
	waitPlayable(t, n, "recoff", 30*time.Second)
	time.Sleep(time.Until(started.Add(10 * time.Second)))
	_ = p.Close()
	_ = pOff.Close()
	t.Logf("FIGURE broadcast published for %v", time.Since(started).Round(10*time.Millisecond))

	rec := readyRecording(t, n, "recann", annTok, 60*time.Second)
	id, _ := rec["id"].(string)
	if rec["replay_url"] != "/replay/"+id || rec["media_url"] != "/replay-media/"+id+"/replay.mp4" || rec["room"] != "recann" {
		t.Fatalf("recording %v", rec)
	}
	got := probeDuration(t, n.base+rec["media_url"].(string))
	if out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_type,start_time,duration", "-of", "csv=p=0", n.base+rec["media_url"].(string)).Output(); err == nil {
		t.Logf("recording's streams (type, start, duration): %s", strings.ReplaceAll(strings.TrimSpace(string(out)), "\n", "; "))
	}
	t.Logf("FIGURE 10 s broadcast → recording of %v (ffprobe over HTTP); API says %v ms", got.Round(time.Millisecond), rec["duration_ms"])
	if math.Abs((got - 10*time.Second).Seconds()) > 1 {
		t.Fatalf("recording lasts %v, want 10 s ± 1 s", got)
	}
	if ms := rec["duration_ms"].(float64); math.Abs(ms-float64(got.Milliseconds())) > 50 {
		t.Fatalf("API duration %v ms, ffprobe %v", ms, got)
	}

	// The record in the store, and the file it names.
	row, err := n.app.DB().Recording(t.Context(), id)
	if err != nil || row.Status != store.RecordingReady || row.RoomID != "recann" || row.EndedAt == nil {
		t.Fatalf("row %+v (%v)", row, err)
	}
	dir := filepath.Join(n.cfg.Data, "recordings", id)
	info, err := os.Stat(filepath.Join(dir, "replay.mp4"))
	if err != nil || row.Path != dir || row.Bytes != info.Size() {
		t.Fatalf("row %+v, file %v (%v)", row, info, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "part-*")); len(left) != 0 {
		t.Fatalf("parts left after finalizing: %v", left)
	}

	// The media: whole, and in ranges.
	media := n.base + rec["media_url"].(string)
	status, hdr, body := do(t, "GET", media, "", "")
	if status != 200 || hdr.Get("Content-Type") != "video/mp4" || int64(len(body)) != row.Bytes || hdr.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("GET media: %d %v (%d bytes)", status, hdr, len(body))
	}
	status, hdr, part := do(t, "GET", media, "", "", "Range", "bytes=100-1123")
	if status != 206 || len(part) != 1024 || part != body[100:1124] || hdr.Get("Content-Range") != fmt.Sprintf("bytes 100-1123/%d", row.Bytes) {
		t.Fatalf("ranged GET: %d %v (%d bytes)", status, hdr, len(part))
	}
	for _, bad := range []string{"/replay-media/" + id + "/part-1.mp4", "/replay-media/" + id + "/..%2F..%2Fonair.db", "/replay-media/01ARZ3NDEKTSV4RRFFQ69G5FAV/replay.mp4"} {
		if status, _, _ := do(t, "GET", n.base+bad, "", ""); status != 404 {
			t.Errorf("GET %s: %d, want 404", bad, status)
		}
	}
	if status, _, page := do(t, "GET", n.base+"/replay/"+id, "", ""); status != 200 || !strings.Contains(page, "/static/replay.js") {
		t.Fatalf("replay page: %d", status)
	}

	// Anyone sees a public room's recordings; a private room's only
	// logged-in users.
	if status, out, _ := api(t, n, "GET", "/api/rooms/recann/recordings", "", nil); status != 200 || len(out["recordings"].([]any)) != 1 {
		t.Fatalf("anonymous list of a public room: %d %v", status, out)
	}
	if status, out, _ := api(t, n, "PATCH", "/api/rooms/recann", annTok, map[string]any{"private": true}); status != 200 {
		t.Fatalf("make private: %d %v", status, out)
	}
	for _, path := range []string{"/api/rooms/recann/recordings", "/api/recordings/" + id, "/replay-media/" + id + "/replay.mp4"} {
		if status, _, _ := api(t, n, "GET", path, "", nil); status != 401 {
			t.Errorf("anonymous GET %s of a private room: %d, want 401", path, status)
		}
		if status, _, _ := api(t, n, "GET", path, otherTok, nil); status != 200 {
			t.Errorf("logged-in GET %s of a private room: %d, want 200", path, status)
		}
	}

	// The room with recording off has none, and no folder was made for it.
	if status, out, _ := api(t, n, "GET", "/api/rooms/recoff/recordings", offTok, nil); status != 200 || len(out["recordings"].([]any)) != 0 {
		t.Fatalf("recoff's recordings: %d %v", status, out)
	}
	if all, _ := os.ReadDir(filepath.Join(n.cfg.Data, "recordings")); len(all) != 1 {
		t.Fatalf("recording folders %v, want recann's alone", all)
	}

	// Deleting: not by another streamer; by the streamer, files and record.
	if status, _, _ := api(t, n, "DELETE", "/api/recordings/"+id, otherTok, nil); status != 403 {
		t.Fatalf("another streamer's delete: %d", status)
	}
	if status, _, _ := api(t, n, "DELETE", "/api/recordings/"+id, "", nil); status != 401 {
		t.Fatalf("anonymous delete: %d", status)
	}
	if status, out, _ := api(t, n, "DELETE", "/api/recordings/"+id, annTok, nil); status != 204 {
		t.Fatalf("delete: %d %v", status, out)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the recording's folder after delete: %v", err)
	}
	if _, err := n.app.DB().Recording(t.Context(), id); err == nil {
		t.Fatal("the recording's row after delete")
	}
	if status, _, _ := api(t, n, "GET", "/api/recordings/"+id, annTok, nil); status != 404 {
		t.Fatalf("GET after delete: %d", status)
	}
	if status, _, _ := do(t, "GET", media, "", "", "Authorization", "Bearer "+annTok); status != 404 {
		t.Fatalf("media after delete: %d", status)
	}
	audit, err := n.app.DB().AuditLog(t.Context(), 10)
	if err != nil || len(audit) == 0 || audit[0].Action != "recording_delete" || audit[0].TargetID != id {
		t.Fatalf("audit log %+v (%v)", audit, err)
	}
}
